// A libFuzzer driver for a .NET target that calls SharpFuzz's Fuzzer.LibFuzzer.Run.
//
// libFuzzer calls LLVMFuzzerTestOneInput in this process; the .NET target runs as a child. They share
// one System V segment: 64 KiB of edge counters that the SharpFuzz-instrumented assembly bumps, then up
// to 1 MiB of input. Per input we send its length on the control pipe (fd 198 in the child), wait for a
// 4-byte status on the status pipe (fd 199), and copy the counters into libFuzzer's extra-counters
// section so coverage guides the mutations. A non-zero status (an exception other than the expected
// one escaped) or a dead child aborts, so libFuzzer saves the input as a crash. A hang trips libFuzzer's
// -timeout, and the child, which dies with us (PR_SET_PDEATHSIG), cannot outlive the campaign.
//
// Build: clang -O2 dotnet-libfuzzer-driver.c /usr/lib/llvm-14/lib/libFuzzer.a -lstdc++ -lpthread -lm
// Run:   ./driver --target_path=PATH_TO_DOTNET_EXE [--target_arg=ARG] [libFuzzer flags] CORPUS_DIR...

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <unistd.h>

enum { COUNTERS = 1 << 16, MAX_INPUT = 1 << 20, CONTROL_FD = 198, STATUS_FD = 199 };

__attribute__((section("__libfuzzer_extra_counters"))) uint8_t dotnet_counters[COUNTERS];

static int control_fd = -1;
static int status_fd = -1;
static int segment_id = -1;
static uint8_t *shared;
static pid_t child;

static void fail(const char *what)
{
    fprintf(stderr, "dotnet-libfuzzer-driver: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void remove_segment(void)
{
    if (segment_id >= 0)
    {
        shmctl(segment_id, IPC_RMID, NULL);
    }
}

static const char *flag(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
    {
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
        {
            return argv[i] + n + 1;
        }
    }

    return NULL;
}

static int read_full(int fd, void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size)
    {
        ssize_t n = read(fd, (char *)buffer + done, size - done);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }

        if (n <= 0)
        {
            return 0;
        }

        done += (size_t)n;
    }

    return 1;
}

static int write_full(int fd, const void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size)
    {
        ssize_t n = write(fd, (const char *)buffer + done, size - done);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }

        if (n <= 0)
        {
            return 0;
        }

        done += (size_t)n;
    }

    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *target = flag(*argc, *argv, "--target_path");
    const char *target_arg = flag(*argc, *argv, "--target_arg");
    if (!target)
    {
        fprintf(stderr, "dotnet-libfuzzer-driver: --target_path=PATH is required\n");
        exit(1);
    }

    int control[2], status[2];
    if (pipe(control) || pipe(status))
    {
        fail("pipe");
    }

    segment_id = shmget(IPC_PRIVATE, COUNTERS + MAX_INPUT, IPC_CREAT | IPC_EXCL | 0600);
    if (segment_id < 0)
    {
        fail("shmget");
    }

    atexit(remove_segment);
    shared = shmat(segment_id, NULL, 0);
    if (shared == (void *)-1)
    {
        fail("shmat");
    }

    pid_t parent = getpid();
    child = fork();
    if (child < 0)
    {
        fail("fork");
    }

    if (child == 0)
    {
        // The child must not outlive libFuzzer, which exits with _exit on a timeout.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
        {
            _exit(1);
        }

        if (dup2(control[0], CONTROL_FD) < 0 || dup2(status[1], STATUS_FD) < 0)
        {
            fail("dup2");
        }

        close(control[0]);
        close(control[1]);
        close(status[0]);
        close(status[1]);
        char id[16];
        snprintf(id, sizeof id, "%d", segment_id);
        setenv("__LIBFUZZER_SHM_ID", id, 1);
        setenv("__LIBFUZZER_CONTROL_PIPE_ID", "198", 1);
        setenv("__LIBFUZZER_STATUS_PIPE_ID", "199", 1);
        if (target_arg)
        {
            execl(target, target, target_arg, (char *)NULL);
        }
        else
        {
            execl(target, target, (char *)NULL);
        }

        fail("exec of the target");
    }

    close(control[0]);
    close(status[1]);
    control_fd = control[1];
    status_fd = status[0];

    // The target says hello once its runner is ready.
    int32_t hello;
    if (!read_full(status_fd, &hello, sizeof hello))
    {
        fprintf(stderr, "dotnet-libfuzzer-driver: the target exited before it was ready\n");
        exit(1);
    }

    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
    {
        return 0; // -max_len keeps inputs below this; larger ones are not run.
    }

    memset(shared, 0, COUNTERS);
    memcpy(shared + COUNTERS, data, size);
    int32_t length = (int32_t)size;
    if (!write_full(control_fd, &length, sizeof length))
    {
        fprintf(stderr, "dotnet-libfuzzer-driver: the target stopped reading\n");
        abort();
    }

    int32_t status;
    int alive = read_full(status_fd, &status, sizeof status);
    memcpy(dotnet_counters, shared, COUNTERS);
    if (!alive)
    {
        fprintf(stderr, "dotnet-libfuzzer-driver: the target died on this input\n");
        abort();
    }

    if (status != 0)
    {
        fprintf(stderr, "dotnet-libfuzzer-driver: the target reported an unexpected exception\n");
        abort();
    }

    return 0;
}
