#!/usr/bin/env bash
# socktap's one entry point for newcomers and CI.
#   scripts/dev.sh demo   install what is missing, build, trace the sample
#   scripts/dev.sh test   install what is missing, build, run every test
#                         (a -Werror build, then again under ASan+UBSan)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Debian packages the build and the tests use.
packages=(build-essential cmake pkg-config libpcap-dev libnl-3-dev
	  libnl-idiag-3-dev libcriterion-dev tcpdump tshark wireshark-common
	  finger curl wget python3 jq iproute2 bsdutils clang dnsutils
	  redis-server redis-tools openssl tmux valgrind)

install_missing() {
	local missing=() p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "== installing: ${missing[*]}"
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {	# build DIR [cmake args...]
	local dir=$1; shift
	cmake -S . -B "$dir" -DSOCKTAP_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

case "${1:-}" in
demo)
	install_missing
	build build
	echo "== socktap -s 40 -w build/demo.pcap -- build/samples/st_demo"
	./build/socktap -s 40 -w build/demo.pcap -- ./build/samples/st_demo
	echo "== the capture, as tshark reads it (build/demo.pcap)"
	tshark -r build/demo.pcap 2>/dev/null | head -20
	;;
test)
	install_missing
	build build
	(cd build && ctest --output-on-failure --timeout 300)
	echo "== again under ASan+UBSan"
	build build-asan -DCMAKE_BUILD_TYPE=Debug \
		-DSOCKTAP_SANITIZE=address,undefined
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure --timeout 600)
	;;
*)
	echo "usage: scripts/dev.sh demo|test" >&2
	exit 2
	;;
esac
