# Sourced by build and test: builds the static library and sets up a
# GOPATH (under the Cargo target directory) whose import paths
# pinecone.local/capi and pinecone.local/interop point into the
# repository, next to Debian's /usr/share/gocode (quic-go 0.29:
# golang-github-lucas-clemente-quic-go-dev). Leaves the shell in the
# GOPATH's copy of this directory.
interop_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
interop_root="$(cd "$interop_dir/../.." && pwd)"
interop_target="${CARGO_TARGET_DIR:-$interop_root/target}"

if [[ ! -d /usr/share/gocode/src/github.com/lucas-clemente/quic-go ]]; then
    echo "needs quic-go 0.29 (Debian: apt-get install golang-github-lucas-clemente-quic-go-dev)" >&2
    exit 1
fi
cargo build --release -p pinecone-capi --manifest-path "$interop_root/Cargo.toml" >&2

interop_gopath="$interop_target/interop-gopath"
mkdir -p "$interop_gopath/src/pinecone.local"
ln -sfn "$interop_root/capi/go" "$interop_gopath/src/pinecone.local/capi"
ln -sfn "$interop_dir" "$interop_gopath/src/pinecone.local/interop"

export GO111MODULE=off GOPATH="$interop_gopath:/usr/share/gocode" CGO_ENABLED=1
# quic-go warns that it cannot size the receive buffer of what is not a
# UDP socket.
export QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING=true
export CGO_CFLAGS="-I$interop_root/include ${CGO_CFLAGS:-}"
export CGO_LDFLAGS="-L$interop_target/release ${CGO_LDFLAGS:-}"
cd "$interop_gopath/src/pinecone.local/interop"
