#!/usr/bin/env bash
# Stop the daemons started by start_slurm.sh, by their PID files (newest first), and wait for them to exit.
DIR=${SLURM_TEST_DIR:-/tmp/eeg2music-slurm}
for name in slurmd slurmctld slurmdbd mariadb munged; do
  f="$DIR/run/$name.pid"
  [ "$name" = mariadb ] && f=/run/mysqld/eeg2music.pid  # MariaDB may only write under /run/mysqld
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
done
