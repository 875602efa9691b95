// Exercises the filesystem inside the preopened directory /sandbox and prints what it sees, so
// the output can be compared between kiln and node's WASI.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void check(int ok, const char* what) {
  printf("%s: %s\n", what, ok ? "ok" : strerror(errno));
}

static int compare(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static void list(const char* path) {
  DIR* d = opendir(path);
  if (!d) {
    printf("opendir %s: %s\n", path, strerror(errno));
    return;
  }
  char* names[64];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 64) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], compare);
  printf("list %s:", path);
  for (int i = 0; i < n; ++i) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

int main(void) {
  FILE* f = fopen("/sandbox/notes.txt", "w");
  check(f != NULL, "create notes.txt");
  if (!f) return 1;
  fprintf(f, "first line\nsecond line\n");
  check(fclose(f) == 0, "close");

  int fd = open("/sandbox/notes.txt", O_RDWR);
  check(fd >= 0, "open rw");
  check(lseek(fd, 6, SEEK_SET) == 6, "seek 6");
  char buf[64] = {0};
  ssize_t n = read(fd, buf, 4);
  printf("read after seek: %zd [%.*s]\n", n, (int)n, buf);
  check(lseek(fd, 0, SEEK_END) == 23, "seek end = 23");
  check(write(fd, "third\n", 6) == 6, "append by write");
  check(pwrite(fd, "FIRST", 5, 0) == 5, "pwrite at 0");
  memset(buf, 0, sizeof buf);
  n = pread(fd, buf, sizeof buf - 1, 0);
  printf("pread all: %zd [%s]\n", n, buf);
  check(ftruncate(fd, 10) == 0, "ftruncate 10");
  struct stat st;
  check(fstat(fd, &st) == 0 && st.st_size == 10 && S_ISREG(st.st_mode), "fstat size 10, regular");
  close(fd);

  fd = open("/sandbox/log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  check(fd >= 0, "open append");
  write(fd, "a", 1);
  lseek(fd, 0, SEEK_SET);
  write(fd, "b", 1);  // O_APPEND: still at the end
  close(fd);
  f = fopen("/sandbox/log.txt", "r");
  memset(buf, 0, sizeof buf);
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  printf("append result: [%s]\n", buf);

  check(mkdir("/sandbox/sub", 0755) == 0, "mkdir sub");
  check(mkdir("/sandbox/sub", 0755) != 0 && errno == EEXIST, "mkdir again is EEXIST");
  check(rename("/sandbox/notes.txt", "/sandbox/sub/moved.txt") == 0, "rename into sub");
  check(access("/sandbox/notes.txt", F_OK) != 0 && errno == ENOENT, "old name gone");
  check(stat("/sandbox/sub/moved.txt", &st) == 0 && st.st_size == 10, "stat moved, 10 bytes");
  check(symlink("moved.txt", "/sandbox/sub/link") == 0, "symlink");
  memset(buf, 0, sizeof buf);
  n = readlink("/sandbox/sub/link", buf, sizeof buf);
  printf("readlink: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
  check(lstat("/sandbox/sub/link", &st) == 0 && S_ISLNK(st.st_mode), "lstat sees a link");
  check(stat("/sandbox/sub/link", &st) == 0 && S_ISREG(st.st_mode), "stat follows it");
  f = fopen("/sandbox/sub/link", "r");
  memset(buf, 0, sizeof buf);
  if (f) {
    fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
  }
  printf("through link: [%s]\n", buf);
  list("/sandbox");
  list("/sandbox/sub");
  check(rmdir("/sandbox/sub") != 0 && errno == ENOTEMPTY, "rmdir non-empty is ENOTEMPTY");
  check(unlink("/sandbox/sub/link") == 0, "unlink link");
  check(unlink("/sandbox/sub/moved.txt") == 0, "unlink moved");
  check(rmdir("/sandbox/sub") == 0, "rmdir sub");
  check(open("/sandbox/missing", O_RDONLY) < 0 && errno == ENOENT, "missing is ENOENT");
  fd = open("/sandbox/log.txt", O_RDWR);
  check(fd >= 0, "reopen log");
  check(fsync(fd) == 0, "fsync");
  check(fdatasync(fd) == 0, "fdatasync");
  check(posix_fadvise(fd, 0, 2, POSIX_FADV_SEQUENTIAL) == 0, "fadvise");
  check(posix_fallocate(fd, 0, 100) == 0, "fallocate to 100");
  check(fstat(fd, &st) == 0 && st.st_size == 100, "size now 100");
  // Whole seconds: node's WASI (the reference) sets times through doubles and drops nanoseconds.
  struct timespec times[2] = {{1000000, 0}, {2000000, 0}};
  check(futimens(fd, times) == 0, "futimens");
  check(fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 2000000 && st.st_atim.tv_sec == 1000000,
        "times set");
  times[1].tv_sec = 3000000;
  check(utimensat(AT_FDCWD, "/sandbox/log.txt", times, 0) == 0, "utimensat by path");
  check(stat("/sandbox/log.txt", &st) == 0 && st.st_mtim.tv_sec == 3000000, "path times set");
  check(link("/sandbox/log.txt", "/sandbox/hard") == 0, "hard link");
  check(stat("/sandbox/hard", &st) == 0 && st.st_nlink == 2 && st.st_size == 100, "link count 2");
  int other = open("/sandbox/hard", O_RDONLY);
  check(__wasi_fd_renumber(other, fd) == 0, "fd_renumber");
  check(fstat(fd, &st) == 0 && st.st_nlink == 2, "renumbered fd works");
  check(close(other) != 0 && errno == EBADF, "old number closed");
  close(fd);
  check(unlink("/sandbox/hard") == 0, "unlink hard link");
  check(unlink("/sandbox/log.txt") == 0, "unlink log");
  list("/sandbox");
  return 0;
}
