// zlib's inflate, deflate and crc32 (Debian: zlib1g-dev).
#include <zlib.h>
