#!/usr/bin/env bash
# Builds tests/c/api_test.c and the C examples with -fsanitize=address,undefined and runs them
# (checking that the sanitizer runtime really is linked), then runs the plain build under valgrind.
# No error and no leak may be reported.
set -euo pipefail
cd "$(dirname "$0")/../.."
rel=target/release
out=$rel/sanitize
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -g -Iinclude)
link=(-L"$rel" -ltartape -Wl,-rpath,"$(pwd)/$rel" -lpthread)

cc "${flags[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  tests/c/api_test.c "${link[@]}" -o "$out/api_test_asan"
cc "${flags[@]}" tests/c/api_test.c "${link[@]}" -o "$out/api_test"
cc "${flags[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  tests/c/frames_test.c "${link[@]}" -o "$out/frames_test_asan"
cc "${flags[@]}" tests/c/frames_test.c "${link[@]}" -o "$out/frames_test"
for e in stream_dir from_memory multipart compress; do
  cc "${flags[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    examples-c/$e.c "${link[@]}" -o "$out/${e}_asan"
done

# The sanitizer must really be there: the binary needs libasan and libubsan.
libs=$(ldd "$out/api_test_asan")
grep -q libasan <<<"$libs" || { echo "FAIL: api_test_asan is not linked with libasan"; exit 1; }
grep -q libubsan <<<"$libs" || { echo "FAIL: api_test_asan is not linked with libubsan"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$work/asan" "$work/valgrind" "$work/frames-asan" "$work/frames-valgrind"
echo "--- api_test under AddressSanitizer + UndefinedBehaviorSanitizer"
"$out/api_test_asan" "$work/asan"
echo "--- frames_test under AddressSanitizer + UndefinedBehaviorSanitizer"
"$out/frames_test_asan" "$work/frames-asan"
echo "--- examples under AddressSanitizer + UndefinedBehaviorSanitizer"
"$out/stream_dir_asan" examples/site > "$work/a.tar" 2>/dev/null
"$out/from_memory_asan" > "$work/m.tar"
"$out/multipart_asan" 1536 examples/site > /dev/null
"$out/compress_asan" zstd 3 examples/site > "$work/a.tar.zst"
"$out/compress_asan" gzip 6 examples/site > "$work/a.tar.gz"
echo "--- compress (zstd and gzip threads) under valgrind"
for c in zstd gzip; do
  valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=1 "$rel/examples-c/compress" $c 3 examples/site > /dev/null
done
echo "--- api_test under valgrind"
valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=1 "$out/api_test" "$work/valgrind"
echo "--- frames_test under valgrind"
valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=1 "$out/frames_test" "$work/frames-valgrind"
echo "sanitizers and valgrind: clean"
