#!/bin/sh
# Runs one long-lived program per NAME in the background and controls it by its recorded PID
# (never by process name, so nothing else on the host is touched).
#
#   daemon.sh start NAME PROGRAM -- COMMAND [ARG...]   start COMMAND; PROGRAM is the path that
#                                                     identifies the process in `ps` output
#   daemon.sh stop NAME                               TERM the recorded PID, KILL after 30 s
#   daemon.sh status NAME                             running=yes|no, pid=, program=, uptime_s=
#                                                     (exit 0 running, 3 not running)
#
# Files: $CPE_BASE/run/NAME.pid, NAME.program, NAME.started; output in $CPE_BASE/log/NAME.log.
set -eu
: "${CPE_BASE:?CPE_BASE must be set (pi-provision sets it)}"
run="$CPE_BASE/run"
logdir="$CPE_BASE/log"

# alive PID PROGRAM: is PID running and is it PROGRAM (not a recycled PID)?
alive() {
	args=$(ps -p "$1" -o command= 2>/dev/null) || return 1
	case $args in
		*"$2"*) return 0 ;;
		*) return 1 ;;
	esac
}

usage() { echo "usage: daemon.sh start NAME PROGRAM -- COMMAND... | stop NAME | status NAME" >&2; exit 2; }

[ $# -ge 2 ] || usage
action=$1
name=$2
pidfile="$run/$name.pid"
progfile="$run/$name.program"
startfile="$run/$name.started"

case $action in
start)
	if [ $# -lt 5 ] || [ "$4" != "--" ]; then usage; fi
	program=$3
	shift 4
	mkdir -p "$run" "$logdir"
	if [ -f "$pidfile" ]; then
		pid=$(cat "$pidfile")
		old=$(cat "$progfile" 2>/dev/null || echo "?")
		if alive "$pid" "$old"; then
			if [ "$old" = "$program" ]; then
				echo "$name is already running (pid $pid, $program)"
				exit 0
			fi
			echo "$name is already running another program (pid $pid, $old): stop it first" >&2
			exit 1
		fi
		echo "removing stale $pidfile (pid $pid is gone)"
		rm -f "$pidfile"
	fi
	echo "starting $name: $*"
	nohup "$@" </dev/null >>"$logdir/$name.log" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	echo "$program" >"$progfile"
	date +%s >"$startfile"
	sleep 1
	if ! alive "$pid" "$program"; then
		echo "$name exited at once; last lines of $logdir/$name.log:" >&2
		tail -n 20 "$logdir/$name.log" >&2
		rm -f "$pidfile"
		exit 1
	fi
	echo "$name started (pid $pid)"
	;;
stop)
	if [ ! -f "$pidfile" ]; then
		echo "$name is not running (no $pidfile)"
		exit 0
	fi
	pid=$(cat "$pidfile")
	program=$(cat "$progfile" 2>/dev/null || echo "?")
	if ! alive "$pid" "$program"; then
		echo "$name (pid $pid) is no longer running"
		rm -f "$pidfile"
		exit 0
	fi
	echo "stopping $name (pid $pid)"
	kill -TERM "$pid"
	i=0
	while alive "$pid" "$program"; do
		i=$((i + 1))
		if [ "$i" -gt 30 ]; then
			echo "$name (pid $pid) still running after 30 s: sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 1
	done
	rm -f "$pidfile"
	echo "$name stopped"
	;;
status)
	if [ -f "$pidfile" ] && pid=$(cat "$pidfile") && program=$(cat "$progfile") && alive "$pid" "$program"; then
		echo "running=yes"
		echo "pid=$pid"
		echo "program=$program"
		started=$(cat "$startfile" 2>/dev/null || date +%s)
		echo "uptime_s=$(($(date +%s) - started))"
		exit 0
	fi
	echo "running=no"
	exit 3
	;;
*) usage ;;
esac
