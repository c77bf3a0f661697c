#!/bin/sh
# Assembles, without any container registry, the root file system that the Maven profile "offline-base" lays on
# Jib's empty base ("scratch"): a jlink'ed Java runtime (from the local JDK 17, only the modules the CLI needs),
# glibc, libgcc, libstdc++ and zlib from Debian's packages (apt-get download; no root needed), the C.UTF-8 locale,
# an /etc/passwd line for the numeric user and an empty /tmp.
#
#   examples/src/main/image/offline-base.sh examples/target/sgbackup.jar examples/target/offline-base
#   mvn -B -Pimage,offline-base -pl examples -am package -DskipTests
#
# Needs: a JDK 17 with jmods (Debian: openjdk-17-jdk-headless), apt-get and dpkg-deb (Debian or Ubuntu).
set -eu
JAR=${1:?usage: offline-base.sh SHADED_JAR OUT_DIR}
OUT=${2:?usage: offline-base.sh SHADED_JAR OUT_DIR}
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
ROOT=$OUT/rootfs
rm -rf "$OUT"
mkdir -p "$ROOT" "$OUT/debs" "$OUT/x"

# 1. the Java runtime: the modules jdeps finds in the CLI, plus the EC and TLS providers that S3/GCS over HTTPS use
MODS=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --multi-release 17 --print-module-deps "$JAR")
MODS="$MODS,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.zipfs,jdk.localedata,jdk.charsets"
echo "jlink modules: $MODS"
"$JAVA_HOME/bin/jlink" --module-path "$JAVA_HOME/jmods" --add-modules "$MODS" --strip-debug --no-header-files \
  --no-man-pages --output "$ROOT/opt/java/openjdk"

# 2. the C libraries the JVM links, from Debian's packages
(cd "$OUT/debs" && apt-get download libc6 libc-bin libgcc-s1 libstdc++6 zlib1g)
for deb in "$OUT"/debs/*.deb; do
  dpkg-deb -x "$deb" "$OUT/x"
done
# ld.so (as PT_INTERP names it), libc, libm, libdl, libpthread, librt, libgcc_s, libstdc++, libz: copied, links resolved
mkdir -p "$ROOT/lib/x86_64-linux-gnu" "$ROOT/lib64" "$ROOT/usr/lib/locale"
for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 \
         libnss_files.so.2 libnss_dns.so.2 libgcc_s.so.1 libstdc++.so.6 libz.so.1; do
  src=$(find "$OUT/x" -name "$f" \( -type f -o -type l \) | head -n 1)
  while [ -L "$src" ]; do  # a link inside the package: resolve it inside the extracted tree, never on this host
    t=$(readlink "$src")
    case $t in /*) src=$OUT/x$t ;; *) src=$(dirname "$src")/$t ;; esac
  done
  cp "$src" "$ROOT/lib/x86_64-linux-gnu/$f"
done
cp "$ROOT/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$ROOT/lib64/ld-linux-x86-64.so.2"
# 3. the C.UTF-8 locale (Debian ships it in libc-bin): without it the JVM falls back to ASCII file names
cp -r "$OUT/x/usr/lib/locale/C.utf8" "$ROOT/usr/lib/locale/"
# 4. the numeric user, a name for it, and /tmp (mode set by the Jib configuration)
mkdir -p "$ROOT/etc" "$ROOT/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$ROOT/etc/group"
printf 'hosts: files dns\n' > "$ROOT/etc/nsswitch.conf"
# Debian's package versions, for the record (the image's provenance)
for deb in "$OUT"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done > "$OUT/debian-packages.txt"
cat "$OUT/debian-packages.txt"
rm -rf "$OUT/x"
du -sh "$ROOT"
