# Sourced by the service scripts: whether a process still runs.
#
# `kill -0` alone also succeeds for a zombie: a process that has exited but that no parent has
# reaped yet. Processes these scripts start in the background outlive the script, so their
# parent becomes PID 1, and where PID 1 does not reap (a container's first process often does
# not) a killed server stays a zombie indefinitely. It runs nothing and holds no port, so it
# counts as stopped.
process_alive() {
  local pid="$1" stat state
  kill -0 "$pid" 2>/dev/null || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  # The state is the first field after the command name, which is in parentheses and may
  # itself contain spaces and parentheses.
  state="${stat##*) }"
  state="${state%% *}"
  [ "$state" != Z ] && [ "$state" != X ]
}
