#!/usr/bin/env bash
# Refreshes the console screenshots in docs/console/ (each role's main page, English and Traditional
# Chinese) from the browser test that takes them, against a real server and Debian chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export SEALPOST_CONSOLE_SCREENSHOTS="$PWD/docs/console"
dotnet test tests/Sealpost.Tests --filter "FullyQualifiedName~ConsoleBrowserTests.Each_roles_main_page_is_captured_in_both_languages"
ls -l docs/console
