// Host shim: just enough of the Arduino API to run dreamlink_cue.ino on Linux for tests.
// Serial is file descriptor 0 (read) and 1 (write); every analogWrite() is logged to stderr as
// "PWM <pin> <level> <micros since start>". The process ends when Serial's peer hangs up.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define F(s) (s)
#define OUTPUT 1
inline void pinMode(uint8_t, int) {}

inline unsigned long micros_since_start() {
  static const auto t0 = std::chrono::steady_clock::now();
  return (unsigned long)std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now() - t0).count();
}
inline unsigned long millis() { return micros_since_start() / 1000UL; }
inline void analogWrite(uint8_t pin, int level) {
  std::fprintf(stderr, "PWM %u %d %lu\n", (unsigned)pin, level, micros_since_start());
  std::fflush(stderr);
}

struct HostSerial {
  int pending = -1;
  void begin(long) { fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK); }
  int available() {
    if (pending >= 0) return 1;
    pollfd p{0, POLLIN, 0};
    if (poll(&p, 1, 1) > 0) {
      unsigned char c;
      ssize_t n = ::read(0, &c, 1);
      if (n == 1) { pending = c; return 1; }
      if (n == 0 || (p.revents & (POLLHUP | POLLERR))) std::exit(0);
    }
    return 0;
  }
  int read() { int c = pending; pending = -1; return c; }
  void println(const char *s) {
    size_t n = std::strlen(s);
    ::write(1, s, n);
    ::write(1, "\n", 1);  // the sketch's Serial.println sends \r\n on hardware; \n is what the host needs
  }
};
inline HostSerial Serial;
