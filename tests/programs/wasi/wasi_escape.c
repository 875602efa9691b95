// Tries to leave the preopened directory /sandbox, and (with "ro") to write to a read-only one.
// Every attempt must fail; prints "refused" or "ESCAPED"/"WROTE" for each.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

static void refused(int result_ok, const char* what) {
  if (result_ok) {
    printf("%s: ESCAPED\n", what);
    ++failures;
  } else {
    printf("%s: refused (%s)\n", what, strerror(errno));
  }
}

static int opens(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "ro") == 0) {
    int fd = open("/sandbox/new.txt", O_WRONLY | O_CREAT, 0644);
    refused(fd >= 0, "create in read-only dir");
    // wasi-libc asks path_open only for the rights the directory can pass on, so opening may
    // succeed with a descriptor that cannot write: the write itself must be refused.
    int wfd = open("/sandbox/existing.txt", O_WRONLY);
    refused(wfd >= 0 && write(wfd, "x", 1) == 1, "write to existing file");
    if (wfd >= 0) close(wfd);
    refused(open("/sandbox/existing.txt", O_RDWR | O_TRUNC) >= 0, "truncate existing");
    refused(mkdir("/sandbox/d", 0755) == 0, "mkdir in read-only dir");
    refused(unlink("/sandbox/existing.txt") == 0, "unlink in read-only dir");
    refused(rename("/sandbox/existing.txt", "/sandbox/renamed.txt") == 0,
            "rename in read-only dir");
    refused(symlink("existing.txt", "/sandbox/l") == 0, "symlink in read-only dir");
    printf("read existing still works: %s\n", opens("/sandbox/existing.txt") ? "yes" : "no");
    printf("%s\n", failures ? "SANDBOX BROKEN" : "all writes refused");
    return failures ? 1 : 0;
  }
  refused(opens("/sandbox/../outside.txt"), "open ../outside.txt");
  refused(opens("/sandbox/sub/../../outside.txt"), "open sub/../../outside.txt");
  refused(opens("/outside.txt"), "open /outside.txt (no preopen)");
  refused(opens("/etc/passwd"), "open /etc/passwd");
  refused(opens("/sandbox/host_link/outside.txt"), "open through host symlink to parent");
  refused(opens("/sandbox/abs_link"), "open host symlink to absolute path");
  symlink("../outside.txt", "/sandbox/guest_link");
  refused(opens("/sandbox/guest_link"), "open guest symlink to ../outside.txt");
  refused(symlink("/etc/passwd", "/sandbox/guest_abs") == 0 && opens("/sandbox/guest_abs"),
          "guest symlink to /etc/passwd");
  refused(mkdir("/sandbox/../made_outside", 0755) == 0, "mkdir ../made_outside");
  int fd = open("/sandbox/inside.txt", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close(fd);
  refused(rename("/sandbox/inside.txt", "/sandbox/../moved_outside.txt") == 0, "rename to ../");
  refused(link("/sandbox/inside.txt", "/sandbox/../linked_outside.txt") == 0, "link to ../");
  refused(unlink("/sandbox/../outside.txt") == 0, "unlink ../outside.txt");
  struct stat st;
  refused(stat("/sandbox/..", &st) == 0 && stat("/sandbox/../outside.txt", &st) == 0,
          "stat ../outside.txt");
  printf("%s\n", failures ? "SANDBOX BROKEN" : "all escapes refused");
  return failures ? 1 : 0;
}
