#!/usr/bin/env bash
# Runs the hotline on 127.0.0.1 and places a demo call against it, printing the conversation.
# The hotline keeps running afterwards (Ctrl-C stops it); --exit-after-demo stops it instead.
# Settings: VOICEBOT_* environment variables or a TOML file (see README), e.g. VOICEBOT_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

port="${VOICEBOT_PORT:-5060}"
demo="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$demo"' EXIT

echo "==> starting the hotline on sip:hotline@127.0.0.1:$port"
.venv/bin/voicebot serve --port "$port" --records-dir records > "$demo/serve.log" 2>&1 &
server=$!
for _ in $(seq 240); do  # up to 2 min: the first start compiles the front end's kernels
  grep -q "voicebot ready" "$demo/serve.log" && break
  kill -0 "$server" 2>/dev/null || { cat "$demo/serve.log"; echo "the hotline did not start" >&2; exit 1; }
  sleep 0.5
done
grep -E "voicebot ready|dashboard:|events:" "$demo/serve.log"
[ -f supervisors.toml ] || echo "    (no supervisors yet: add one with" \
  ".venv/bin/voicebot supervisors add NAME --sip-uri sip:NAME@HOST:PORT, then restart)"

echo "==> demo call (the caller's voice is espeak-ng; the bot's is Piper)"
# A lost card, end to end: the bot asks for the card's last four digits, confirms, acts.
say=("Hello, I lost my credit card yesterday. Can you block it?"
     "Four five two one."
     "Yes, please."
     "How can I apply for a personal loan?"
     "No, thank you. Goodbye.")
play=()
for i in "${!say[@]}"; do
  espeak-ng -v en-us -s 150 -w "$demo/$i.wav" "${say[$i]}"
  play+=(--play "$demo/$i.wav")
done
.venv/bin/voicebot call "sip:hotline@127.0.0.1:$port" "${play[@]}" --record demo-call.wav
echo "==> what the hotline measured per turn (ms):"
grep -o '"stages_ms": {[^}]*}' "$demo/serve.log" || true
echo "    call records: records/, the caller's recording: demo-call.wav"

if [ "${1:-}" != "--exit-after-demo" ]; then
  echo "==> the hotline is still answering on sip:hotline@127.0.0.1:$port; Ctrl-C stops it"
  tail -f "$demo/serve.log" &
  wait "$server"
fi
