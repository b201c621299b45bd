#!/usr/bin/env bash
# Regenerates Sources/HopsAPI/Generated from Sources/HopsAPI/hops.proto.
# The generated code is committed, because building the protoc plugins takes
# about ten minutes; run this only after changing the .proto.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
plugins=${HOPS_PROTOC_PLUGINS:-/tmp/hops-protoc-plugins}

command -v protoc >/dev/null || apt-get install -y protobuf-compiler
if [ ! -x "$plugins/.build/release/protoc-gen-grpc-swift-2" ] || [ ! -x "$plugins/.build/release/protoc-gen-swift" ]; then
  rm -rf "$plugins"
  git clone -q https://github.com/grpc/grpc-swift-protobuf.git "$plugins"
  git -C "$plugins" checkout -q 2.4.1
  (cd "$plugins" && swift build -c release --product protoc-gen-grpc-swift-2 && swift build -c release --product protoc-gen-swift)
fi
bin="$plugins/.build/release"
out="$here/Sources/HopsAPI/Generated"
mkdir -p "$out"
protoc --proto_path="$here/Sources/HopsAPI" \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
  --swift_out="$out" --swift_opt=Visibility=Public \
  --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,Client=true,Server=true \
  hops.proto
echo "generated into $out"
