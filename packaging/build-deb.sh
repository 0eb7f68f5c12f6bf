#!/usr/bin/env bash
# Builds the Debian package of Sealpost: a self-contained build (no .NET runtime needed on the
# target), /usr/bin/sealpost, a hardened systemd unit that waits for 'sealpost init', the
# sealpost system user made at install, /etc/sealpost/sealpost.json as a conffile, a man page.
#   bash packaging/build-deb.sh [OUTPUT-DIR]    -> OUTPUT-DIR/sealpost_VERSION_amd64.deb (default dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
VERSION="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)"
ARCH=amd64
RID=linux-x64
MAINTAINER="Sealpost maintainers <maintainers@users.noreply.r-seed-b76bf196.example>"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
ROOT="$STAGE/sealpost"

dotnet publish src/Sealpost.Cli -c Release -r "$RID" --self-contained true --nologo -v q \
  -p:DebugType=none -p:DebugSymbols=false -p:GenerateDocumentationFile=false \
  -o "$ROOT/usr/lib/sealpost" >/dev/null
# Files the server never uses on Linux, and the runtime's own dump tool (core dumps are off).
rm -f "$ROOT/usr/lib/sealpost/createdump"
find "$ROOT/usr/lib/sealpost" -type f -exec chmod 0644 {} +
chmod 0755 "$ROOT/usr/lib/sealpost/sealpost"
strip --strip-unneeded "$ROOT"/usr/lib/sealpost/*.so 2>/dev/null || true

install -d -m 0755 "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/etc/sealpost" \
  "$ROOT/usr/share/doc/sealpost" "$ROOT/usr/share/man/man1" "$ROOT/usr/share/lintian/overrides" "$ROOT/DEBIAN"
ln -s ../lib/sealpost/sealpost "$ROOT/usr/bin/sealpost"
install -m 0644 packaging/debian/sealpost.service "$ROOT/lib/systemd/system/sealpost.service"
install -m 0644 packaging/debian/sealpost.json "$ROOT/etc/sealpost/sealpost.json"
install -m 0644 packaging/debian/copyright "$ROOT/usr/share/doc/sealpost/copyright"
install -m 0644 README.md "$ROOT/usr/share/doc/sealpost/README.md"
install -m 0644 packaging/debian/lintian-overrides "$ROOT/usr/share/lintian/overrides/sealpost"
gzip -9n -c packaging/debian/sealpost.1 > "$ROOT/usr/share/man/man1/sealpost.1.gz"
chmod 0644 "$ROOT/usr/share/man/man1/sealpost.1.gz"
DATE="$(date -R -u -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
printf 'sealpost (%s-1) stable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' "$VERSION" "$VERSION" "$MAINTAINER" "$DATE" \
  | gzip -9n > "$ROOT/usr/share/doc/sealpost/changelog.Debian.gz"
chmod 0644 "$ROOT/usr/share/doc/sealpost/changelog.Debian.gz"

for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$ROOT/DEBIAN/$script"
done
echo /etc/sealpost/sealpost.json > "$ROOT/DEBIAN/conffiles"
chmod 0644 "$ROOT/DEBIAN/conffiles"
SIZE="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: sealpost
Version: $VERSION-1
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $SIZE
Depends: adduser, libc6 (>= 2.31), libgcc-s1, libstdc++6, libssl3, libicu72 | libicu74 | libicu76
Recommends: chrony | time-daemon
Suggests: postgresql
Section: mail
Priority: optional
Description: mail platform that operators run but cannot read
 Sealpost serves SMTP (inbound, submission), IMAP4rev2 and an HTTPS admin API,
 console and client auto-configuration from one process, over an embedded
 SQLite store or PostgreSQL. Mail, folder names and keys are sealed at rest
 under keys that only the mail's owners, and for recovery a quorum of security
 officers, can unlock; every action goes to a hash-chained audit trail.
CONTROL
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT/sealpost_${VERSION}-1_${ARCH}.deb" >/dev/null
echo "$OUT/sealpost_${VERSION}-1_${ARCH}.deb"
