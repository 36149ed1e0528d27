#!/usr/bin/env bash
# socktap under Valgrind memcheck: no invalid access, no use of
# uninitialised memory and no definite or indirect leak in socktap itself,
# across representative runs with every output on.
#
#   memcheck.sh SOCKTAP SAMPLES_DIR WORK_DIR [SANITIZE]
#
# Each run must end with the traced program's status and a clean Valgrind
# report.  Exit status: 0 all clean, 1 a run failed, 77 skipped (no
# valgrind, or a sanitized build: Valgrind cannot run ASan binaries).
#
# The tracee's seccomp filter needs seccomp(2), which Valgrind does not
# implement, hence --no-seccomp everywhere.  Valgrind also lacks
# pidfd_open (434): it warns once ("--PID-- WARNING") and socktap takes
# its fallback, which is fine; only "==PID==" lines are Valgrind errors.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 SOCKTAP SAMPLES_DIR WORK_DIR [SANITIZE]" >&2
	exit 2
fi
socktap=$1
samples=$2
work=$3
sanitize=${4:-}

if [ -n "$sanitize" ]; then
	echo "SKIP: built with -DSOCKTAP_SANITIZE=$sanitize; Valgrind cannot" \
		"run a sanitized binary (use the plain build for this test)"
	exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind is not installed (scripts/dev.sh test installs" \
		"it: apt-get install valgrind)"
	exit 77
fi

vg=(valgrind --tool=memcheck --leak-check=full
    "--show-leak-kinds=definite,indirect"
    "--errors-for-leak-kinds=definite,indirect"
    --error-exitcode=9 --track-fds=no -q)

rm -rf "$work"
mkdir -p "$work" || exit 1
failed=0
start_all=$SECONDS

fail() {	# fail RUN MESSAGE
	echo "FAIL [$1]: $2"
	failed=1
}

# Wait for PID (our child) at most SECS seconds; then TERM, then KILL.
# Sets $status; 124 means it had to be killed.
wait_deadline() {	# wait_deadline PID SECS
	local pid=$1 end=$((SECONDS + $2))

	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		sleep 2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		status=124
		return
	fi
	wait "$pid"
	status=$?
}

# Start a sample server natively (not traced unless a run says so); its
# pid in $srv, its port in $port.
server() {	# server RUN NAME PROGRAM ARGS...
	local run=$1 out="$work/$1/$2.out"

	shift 2
	"$samples/$1" "${@:2}" >"$out" 2>&1 &
	srv=$!
	port=
	for _ in $(seq 200); do
		port=$(sed -n 's/^PORT //p' "$out")
		[ -n "$port" ] && return 0
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.05
	done
	fail "$run" "server $1 did not start: $(cat "$out")"
	return 1
}

server_done() {		# server_done RUN PID: it must exit 0 on its own
	wait_deadline "$2" 20
	[ "$status" -eq 0 ] || fail "$1" "server exited $status"
}

# Start socktap under memcheck with every output on, plus ARGS (-q or
# -o/-s, --decode, then -p PID or -- COMMAND).  Its pid in $vpid.
vg_start() {	# vg_start RUN ARGS...
	local d="$work/$1"

	shift
	run_start=$SECONDS
	"${vg[@]}" --log-file="$d/vg.%p.log" "$socktap" --no-seccomp \
		-w "$d/out.pcap" --flows "$d/flows" --json "$d/out.json" \
		--hexdump="$d/out.hex" "$@" >"$d/stdout" 2>"$d/stderr" &
	vpid=$!
}

# Wait for socktap and check: the expected status, no Valgrind error
# (the status would be 9; the log catches errors in a forked child that
# then exec'd, whose status is lost), outputs that saw the traffic.
vg_finish() {	# vg_finish RUN EXPECTED_STATUS
	local run=$1 d="$work/$1" f bad=0

	wait_deadline "$vpid" 90
	if [ "$status" -ne "$2" ]; then
		fail "$run" "socktap exited $status, expected $2" \
			"(9 = Valgrind errors, 124 = hung)"
		bad=1
	fi
	if cat "$d"/vg.*.log 2>/dev/null | grep -Eq '^==[0-9]+=='; then
		fail "$run" "Valgrind reported errors"
		bad=1
	fi
	for f in out.json out.hex flows/index.tsv; do
		[ -s "$d/$f" ] || { fail "$run" "$f is empty"; bad=1; }
	done
	# 24 bytes is the bare pcap header: some packet must follow
	if [ "$(stat -c %s "$d/out.pcap" 2>/dev/null || echo 0)" -le 24 ]; then
		fail "$run" "out.pcap holds no packet"
		bad=1
	fi
	if [ $bad -ne 0 ]; then
		echo "---- $run: Valgrind log"
		cat "$d"/vg.*.log 2>/dev/null
		echo "---- $run: socktap stderr"
		tail -n 30 "$d/stderr"
		echo "----"
	else
		echo "ok   [$run] status $status, $((SECONDS - run_start))s"
	fi
}

new_run() {	# new_run RUN: its own directory
	mkdir -p "$work/$1"
}

# 1. the README demo (fork, finger server and client), summary only
new_run demo
vg_start demo -q --decode=auto -- "$samples/st_demo"
vg_finish demo 0

# 2. the same with the full trace text, long strings and timings
new_run demo_trace
vg_start demo_trace -o "$work/demo_trace/trace.txt" -s 256 -tt -T \
	--decode=finger -- "$samples/st_demo"
vg_finish demo_trace 0
grep -q 'decoded as finger' "$work/demo_trace/trace.txt" 2>/dev/null ||
	fail demo_trace "trace.txt lacks the decoded conversation"

# 3. a threaded client, one connection per thread
new_run threads
if server threads echo st_echo_server -t -n 4; then
	vg_start threads -q -- "$samples/st_threads" 4 127.0.0.1 "$port"
	vg_finish threads 0
	server_done threads "$srv"
fi

# 4. one UDP socket, two peers
new_run udp
if server udp echo1 st_echo_server -u; then
	p1=$port s1=$srv
	if server udp echo2 st_echo_server -u; then
		vg_start udp -o "$work/udp/trace.txt" -s 256 --decode=raw \
			-- "$samples/st_udp_peers" 127.0.0.1 "$p1" "$port"
		vg_finish udp 0
		server_done udp "$srv"
	fi
	server_done udp "$s1"
fi

# 5. Unix sockets of every kind (they reach the pcap and the flows with
# synthetic addresses), under a shell that forks each mode
new_run unix
vg_start unix -o "$work/unix/trace.txt" -s 256 -- sh -c '
	for m in pair dgrampair seqpacket abstract rights; do
		"$0/st_unix" $m || exit
	done
	exec "$0/st_unix" named "$1"' "$samples" "$work/unix"
vg_finish unix 0
grep -q 'UNIX-SEQPACKET' "$work/unix/trace.txt" 2>/dev/null ||
	fail unix "trace.txt shows no Unix socket"

# 6. dup, dup2, F_DUPFD_CLOEXEC, close_range on one connection
new_run fdplay
if server fdplay echo st_echo_server; then
	vg_start fdplay -q -- "$samples/st_fdplay" 127.0.0.1 "$port"
	vg_finish fdplay 0
	server_done fdplay "$srv"
fi

# 7. exec of itself with a CLOEXEC and a surviving socket
new_run execer
if server execer echo st_echo_server -n 2; then
	vg_start execer -q -- "$samples/st_execer" 127.0.0.1 "$port"
	vg_finish execer 0
	server_done execer "$srv"
fi

# 8. the launched command is killed by SIGTERM mid-trace: 128 + 15.  The
# traced server talks once, then waits for a second client that never
# comes.  sh execs it, so the pid written is the server's.
new_run sigterm
vg_start sigterm -q -- sh -c 'echo $$ >"$0/pid"; exec "$1" -n 2' \
	"$work/sigterm" "$samples/st_echo_server"
port=
for _ in $(seq 400); do
	port=$(sed -n 's/^PORT //p' "$work/sigterm/stdout")
	[ -n "$port" ] && break
	sleep 0.05
done
if [ -n "$port" ] &&
   "$samples/st_client" tcp 127.0.0.1 "$port" -m before-term \
	>"$work/sigterm/client.out" 2>&1; then
	kill -TERM "$(cat "$work/sigterm/pid")"
else
	fail sigterm "the traced server did not serve: $(cat "$work/sigterm/stderr")"
	kill -TERM "$(cat "$work/sigterm/pid" 2>/dev/null)" 2>/dev/null
fi
vg_finish sigterm 143

# 9. attach to a running threaded server, two clients, then SIGINT
# detaches socktap (status 0) and the server, unharmed, serves a third
new_run attach
if server attach echo st_echo_server -t -n 3; then
	vg_start attach -o "$work/attach/trace.txt" -s 256 -p "$srv"
	tracer=0
	for _ in $(seq 400); do
		tracer=$(awk '/^TracerPid:/ { print $2 }' \
			/proc/"$srv"/status 2>/dev/null)
		[ "${tracer:-0}" != 0 ] && break
		sleep 0.05
	done
	# the echoes below need the server resumed, which only socktap's
	# loop does after its attach: by then its SIGINT handler is set
	if [ "${tracer:-0}" = "$vpid" ]; then
		for m in one two; do
			"$samples/st_client" tcp 127.0.0.1 "$port" -m "$m" \
				>>"$work/attach/client.out" 2>&1 ||
				fail attach "client $m failed"
		done
	else
		fail attach "socktap never attached (TracerPid ${tracer:-?})"
	fi
	kill -INT "$vpid"
	vg_finish attach 0
	"$samples/st_client" tcp 127.0.0.1 "$port" -m three \
		>>"$work/attach/client.out" 2>&1 ||
		fail attach "the server no longer serves after the detach"
	server_done attach "$srv"
fi

echo "valgrind memcheck: $((SECONDS - start_all))s in all"
if [ $failed -ne 0 ]; then
	echo "FAILED (logs in $work)"
	exit 1
fi
echo "all runs clean"
