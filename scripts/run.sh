#!/usr/bin/env bash
# `make run`: chat with an example bot in the terminal.
# (Once flowd lands, this starts the server with the examples instead.)
set -eu
build=${1:-build}
flow=$(ls examples/*/*.flow 2>/dev/null | head -n 1)
flow=${flow:-../shared/conformance/acme/acme.flow}
echo "Chatting with $flow (type /help for commands, /quit to leave)."
echo "Other examples: $(ls examples/*/*.flow 2>/dev/null | tr '\n' ' ')"
exec "$build/flowc" run "$flow"
