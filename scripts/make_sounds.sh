#!/usr/bin/env bash
# Regenerates the prompts and music on hold shipped in sounds/ (committed: a fresh machine
# needs nothing at run time). Prompts are espeak-ng speech, music a sox-synthesized melody;
# everything is 8 kHz 16-bit mono WAV, what FreeSWITCH plays on a narrow-band call without
# resampling. Needs Debian's espeak-ng and sox: apt-get install -y espeak-ng sox
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=sounds
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install -y espeak-ng sox" >&2; exit 1; }
done
mkdir -p "$OUT/ivr/es" "$OUT/music"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# prompt <path under sounds/> <espeak-ng voice> <text>
prompt() {
  espeak-ng -v "$2" -s 150 -w "$WORK/raw.wav" "$3"
  # 8 kHz mono 16-bit, a little head-room, 100 ms of silence at each end
  sox "$WORK/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$1" \
    gain -n -3 pad 0.1 0.1
  echo "$OUT/$1"
}

# The demo flows (ivr/demo.py), icm's greeting for calls routed without a flow
# (icm/daemon/ivr/session.py GREETING), the queue greetings the docs show and the predictive
# campaign's abandon message (icm/demo.py).
prompt ivr/welcome.wav en-us "Welcome to the IPBX demo company."
prompt ivr/es/welcome.wav es "Bienvenido a la empresa de demostración IPBX."
prompt ivr/queue.wav en-us "Thank you for calling. All our agents are busy. Please hold, and the next available agent will take your call."
prompt ivr/vip.wav en-us "Thank you for being a valued customer. You will be connected to our priority team."
prompt ivr/abandon.wav en-us "Sorry, all our agents were busy when we called you. We will call you again later. Goodbye."

# Music on hold: a calm arpeggio over a I-vi-IV-V progression, four bars of 6 s each.
n=0
for chord in "C4 E4 G4 C5 G4 E4" "A3 C4 E4 A4 E4 C4" "F3 A3 C4 F4 C4 A3" "G3 B3 D4 G4 D4 B3"; do
  for i in 1 2; do
    for note in $chord; do
      sox -n -r 8000 -c 1 -b 16 "$WORK/n$(printf %03d "$n").wav" \
        synth 0.5 pluck "$note" fade q 0.01 0.5 0.3 gain -10
      n=$((n + 1))
    done
  done
done
sox "$WORK"/n*.wav "$WORK/melody.wav"
# a soft pad (root and fifth of each bar) under the melody
sox -n -r 8000 -c 1 -b 16 "$WORK/pad.wav" \
  synth 6 sine C3 synth 6 sine mix G3 fade q 0.5 6 0.5 : \
  synth 6 sine A2 synth 6 sine mix E3 fade q 0.5 6 0.5 : \
  synth 6 sine F2 synth 6 sine mix C3 fade q 0.5 6 0.5 : \
  synth 6 sine G2 synth 6 sine mix D3 fade q 0.5 6 0.5 gain -22
sox -m "$WORK/melody.wav" "$WORK/pad.wav" "$WORK/mix.wav"
sox "$WORK/mix.wav" -r 8000 -c 1 -b 16 -e signed-integer \
  "$OUT/music/ipbx-hold.wav" reverb 30 gain -n -6 fade q 0.2 24 1
echo "$OUT/music/ipbx-hold.wav"
