// Built with -fno-exceptions: every public header compiles, valid calls work, and a violated
// precondition ends the process the documented way — the message on stderr, then
// std::abort() — or, built with XACT_TEST_CUSTOM_HANDLER, goes to the user's
// XACT_ERROR_HANDLER. Each bad call runs in a forked child (a death test); the parent checks
// how the child ended and what it printed.
#if defined(XACT_TEST_CUSTOM_HANDLER)
#include <cstdio>
#include <unistd.h>
// The user's handler: print its own way and leave with status 42 (it must not return;
// xact calls std::abort() if it does).
#define XACT_ERROR_HANDLER(msg)                                                                    \
    (std::fprintf(stderr, "custom handler: %s\n", msg), std::fflush(stderr), _exit(42))
#endif

#include <xact/dispatch.hpp> // declarations only: checks they compile
#include <xact/xact.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#if XACT_HAS_EXCEPTIONS
#error "this program must be compiled with -fno-exceptions"
#endif

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what.c_str());
        ++failures;
    }
}

// Runs bad() in a child with stderr captured; checks the child's end and message.
template <class Bad>
void expect_death(const char* label, const char* expected_message, Bad bad) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(false, std::string(label) + ": pipe");
        return;
    }
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        bad();
        _exit(0); // reached only if the bad call returned
    }
    close(fds[1]);
    std::string text;
    char buf[512];
    for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, std::size_t(r));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
#if defined(XACT_TEST_CUSTOM_HANDLER)
    const bool ended = WIFEXITED(status) && WEXITSTATUS(status) == 42;
    const std::string prefix = "custom handler: ";
#else
    const bool ended = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    const std::string prefix = "xact: invalid argument: ";
#endif
    check(ended, std::string(label) + ": child did not end as documented (status " +
                     std::to_string(status) + ")");
    check(text.find(prefix + expected_message) != std::string::npos,
          std::string(label) + ": stderr was \"" + text + "\"");
}

} // namespace

int main() {
    // Valid calls work as usual.
    std::vector<float> x{-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, y(x.size()), dy(x.size(), 1.0f),
        dx(x.size());
    xact::forward(xact::relu{}, x, y);
    check(y[0] == 0.0f && y[4] == 2.0f, "relu forward");
    xact::backward(xact::sigmoid{}, x, dy, dx);
    check(dx[2] == 0.25f, "sigmoid backward at 0");
    const xact::activation a = xact::activation::parse("leaky_relu(alpha=0.5)");
    a.forward(x.data(), y.data(), x.size());
    check(y[0] == -1.0f, "activation::parse + forward");
    xact::softmax(x.data(), y.data(), xact::extents{1, x.size()});
    check(y[0] > 0.0f && y[4] < 1.0f, "softmax");

    // Violated preconditions.
    expect_death("null pointer", "xact::forward", [] {
        float out[4];
        xact::forward(xact::relu{}, static_cast<const float*>(nullptr), out, 4);
    });
    expect_death("bad parameter", "hardtanh: needs lo <= hi", [&] {
        xact::forward(xact::hardtanh{1.0, -1.0}, x.data(), y.data(), x.size());
    });
    expect_death("sizes differ", "xact::forward", [&] {
        std::vector<float> shorter(2);
        xact::forward(xact::relu{}, x, shorter);
    });
    expect_death("unknown name", "xact::activation::parse",
                 [] { (void)xact::activation::parse("relux"); });
    expect_death("softmax extents", "xact::softmax", [&] {
        xact::softmax(static_cast<const float*>(nullptr), y.data(), xact::extents{1, 5, 1});
    });

    if (failures != 0) return 1;
    std::printf("no-exceptions checks passed\n");
    return 0;
}
