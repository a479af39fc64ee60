package devstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"convoy/core/secretbox"
)

// encryptionKeyFile is the file in the data dir that keeps the generated
// encryption keys for the stored secrets across restarts. To rotate, put a
// new key first in it (`id:base64key`, one a line), restart, and POST
// /api/v1/admin/encryption/rotate.
const encryptionKeyFile = "encryption-keys"

// resolveEncryptionKeys returns the key file every service reads, when
// neither CONVOY_ENCRYPTION_KEYS nor CONVOY_ENCRYPTION_KEY_FILE is set in
// env: the one kept in dataDir, else a new one with one random key ("" and
// keyFromEnv when the environment chooses).
func resolveEncryptionKeys(env []string, dataDir string) (string, keySource, error) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if (k == "CONVOY_ENCRYPTION_KEYS" || k == "CONVOY_ENCRYPTION_KEY_FILE") && strings.TrimSpace(v) != "" {
			return "", keyFromEnv, nil
		}
	}
	path := filepath.Join(dataDir, encryptionKeyFile)
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return path, keyFromFile, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", 0, fmt.Errorf("read encryption keys: %w", err)
	}
	key, err := secretbox.NewKey("local1")
	if err != nil {
		return "", 0, err
	}
	if err := writeFileAtomic(path, []byte(key+"\n"), 0o600); err != nil {
		return "", 0, fmt.Errorf("save encryption keys: %w", err)
	}
	return path, keyGenerated, nil
}
