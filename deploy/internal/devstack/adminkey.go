package devstack

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// adminKeyFile is the file in the data dir that keeps a generated admin API key across restarts.
const adminKeyFile = "admin-api-key"

// adminKeyPrefix marks generated keys, so that a leaked one is recognisable.
const adminKeyPrefix = "convoy_admin_"

// keySource tells where the admin API key came from.
type keySource int

const (
	keyFromEnv keySource = iota
	keyFromFile
	keyGenerated
)

// resolveAdminKey returns the configured key, else the one kept in dataDir, else a new random
// key that it saves there (mode 0600) for the next start.
func resolveAdminKey(configured, dataDir string) (string, keySource, error) {
	if configured != "" {
		return configured, keyFromEnv, nil
	}
	path := filepath.Join(dataDir, adminKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if key := strings.TrimSpace(string(b)); key != "" {
			return key, keyFromFile, nil
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", 0, fmt.Errorf("read admin API key: %w", err)
	}

	key, err := newAdminKey()
	if err != nil {
		return "", 0, err
	}
	if err := writeFileAtomic(path, []byte(key+"\n"), 0o600); err != nil {
		return "", 0, fmt.Errorf("save admin API key: %w", err)
	}
	return key, keyGenerated, nil
}

func newAdminKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate admin API key: %w", err)
	}
	return adminKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// writeFileAtomic writes the file under a temporary name and renames it, so that a crash never
// leaves a truncated key behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
