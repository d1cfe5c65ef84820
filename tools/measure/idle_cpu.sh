#!/bin/bash
# usage: seams-cpu.sh NAME ARGS... ; prints CPU ticks used over 5 s after 3 s settle
name=$1; shift
export XDG_STATE_HOME=$(mktemp -d)
tmux new-session -d -s $name -x 160 -y 50 "/work/wt-seams/target/debug/interleave $*"
sleep ${SETTLE:-2}
[ -n "$NOESC" ] || tmux send-keys -t $name Escape
sleep 0.3
pid=$(tmux list-panes -t $name -F '#{pane_pid}' | head -1)
t0=$(awk '{print $14+$15}' /proc/$pid/stat)
sleep ${SPAN:-5}
t1=$(awk '{print $14+$15}' /proc/$pid/stat)
echo "$name: pid $pid, utime+stime over 5 s: $((t1-t0)) ticks (CLK_TCK=$(getconf CLK_TCK))"
tmux capture-pane -p -t $name | tail -3
tmux kill-session -t $name
