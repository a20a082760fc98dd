#!/bin/sh
# test_install.sh: installs the build into a scratch prefix, then builds and runs a tiny
# program against the installed copy twice: with pkg-config and with find_package(ember).
# Usage: test_install.sh BUILD_DIR CONSUMER_SOURCE_DIR
set -eu
BUILD=$1
CONSUMER=$2
WORK=$(mktemp -d "${EMBER_TEST_TMP:-/tmp}/install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix

cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
test -f "$PREFIX/include/ember.h"
test -x "$PREFIX/bin/ember"
LIBDIR=$(dirname "$(find "$PREFIX" -name ember.pc)")/..

printf 'a,b\n1,2\n3,4\n5,6\n' >"$WORK/three.csv"

# The installed command runs from the prefix (its RPATH finds the installed library).
"$PREFIX/bin/ember" count "$WORK/three.csv" >"$WORK/cli.out"
printf 'count\n3\n' | cmp - "$WORK/cli.out"

# pkg-config
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$WORK/consumer-pc" "$CONSUMER/consumer.c" \
    $(pkg-config --cflags --libs ember) -Wl,-rpath,"$(pkg-config --variable=libdir ember)"
"$WORK/consumer-pc" "$WORK/three.csv" >"$WORK/pc.out"
grep -q ' 3$' "$WORK/pc.out"

# find_package
cmake -S "$CONSUMER" -B "$WORK/consumer-build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/consumer-build" >/dev/null
"$WORK/consumer-build/consumer" "$WORK/three.csv" >"$WORK/cmake.out"
grep -q ' 3$' "$WORK/cmake.out"
echo "install test: pkg-config and find_package consumers both counted 3 rows"
