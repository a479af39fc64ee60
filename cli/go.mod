module convoy/cli

go 1.26.0

require (
	convoy/proto v0.0.0
	convoy/sdk v0.0.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

replace (
	convoy/proto => ../proto
	convoy/sdk => ../sdk/go
)
