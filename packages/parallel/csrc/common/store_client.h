// A blocking C++ client of @falcon/parallel's TCP key-value store (the wire protocol is documented
// in src/store/protocol.ts). Used by the Gloo addon (gloo::rendezvous::Store over it, fault
// diagnosis) and the NCCL addon (the unique id). Blocking is safe: the server never runs on the
// thread that calls it (a worker thread of rank 0, or the launcher). Every call is serialised by a
// mutex; every wait has a deadline; errors are std::runtime_error naming the address and the key.
#pragma once
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace falcon {
namespace store {

/** A store request that timed out; `missing` holds the keys that never appeared. */
struct TimeoutError : std::runtime_error {
  std::vector<std::string> missing;
  TimeoutError(const std::string& msg, std::vector<std::string> m) : std::runtime_error(msg), missing(std::move(m)) {}
};

/** Connection lost / store unreachable. */
struct ConnectionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Client {
 public:
  /** Connects, retrying refused connections until `timeoutMs` has passed. */
  Client(std::string host, int port, int64_t timeoutMs) : host_(std::move(host)), port_(port), timeoutMs_(timeoutMs) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    std::string last = "no answer";
    while (true) {
      fd_ = tryConnect(last);
      if (fd_ >= 0) break;
      if (std::chrono::steady_clock::now() > deadline) {
        throw ConnectionError("could not reach the store at " + where() + " within " + std::to_string(timeoutMs) + " ms (" + last + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  std::string where() const { return host_ + ":" + std::to_string(port_); }
  int64_t timeoutMs() const { return timeoutMs_; }

  void set(const std::string& key, const std::vector<char>& value) {
    Buf b(1);
    b.str(key).bytes(value.data(), value.size());
    call(b, "set '" + key + "'");
  }

  std::vector<char> get(const std::string& key, int64_t timeoutMs) {
    Buf b(2);
    b.str(key).u32((uint32_t)clampMs(timeoutMs));
    auto r = call(b, "get '" + key + "'");
    size_t off = 0;
    return r.bytes(off);
  }

  int64_t add(const std::string& key, int64_t delta) {
    Buf b(3);
    b.str(key).i64(delta);
    auto r = call(b, "add '" + key + "'");
    int64_t v;
    std::memcpy(&v, r.data.data(), 8);
    return v;
  }

  void wait(const std::vector<std::string>& keys, int64_t timeoutMs) {
    Buf b(4);
    b.u32((uint32_t)keys.size());
    for (auto& k : keys) b.str(k);
    b.u32((uint32_t)clampMs(timeoutMs));
    call(b, "wait");
  }

  bool check(const std::vector<std::string>& keys) {
    Buf b(5);
    b.u32((uint32_t)keys.size());
    for (auto& k : keys) b.str(k);
    auto r = call(b, "check");
    return !r.data.empty() && r.data[0] == 1;
  }

  void registerRank(int rank) {
    Buf b(9);
    b.u32((uint32_t)rank);
    call(b, "register");
  }

  void unregister() {
    Buf b(10);
    call(b, "unregister");
  }

 private:
  struct Buf {
    std::vector<char> data;
    explicit Buf(uint8_t cmd) { data.push_back((char)cmd); }
    Buf() = default;
    Buf& u32(uint32_t v) {
      char c[4];
      std::memcpy(c, &v, 4);  // x86-64 and aarch64 Linux: little-endian, as the protocol
      data.insert(data.end(), c, c + 4);
      return *this;
    }
    Buf& i64(int64_t v) {
      char c[8];
      std::memcpy(c, &v, 8);
      data.insert(data.end(), c, c + 8);
      return *this;
    }
    Buf& bytes(const char* p, size_t n) {
      u32((uint32_t)n);
      data.insert(data.end(), p, p + n);
      return *this;
    }
    Buf& str(const std::string& s) { return bytes(s.data(), s.size()); }
    uint32_t rd32(size_t& off) const {
      uint32_t v;
      std::memcpy(&v, data.data() + off, 4);
      off += 4;
      return v;
    }
    std::vector<char> bytes(size_t& off) const {
      uint32_t n = rd32(off);
      std::vector<char> v(data.begin() + off, data.begin() + off + n);
      off += n;
      return v;
    }
  };

  static int64_t clampMs(int64_t ms) { return ms < 0 ? 0 : (ms > 0xFFFFFFF0LL ? 0xFFFFFFF0LL : ms); }

  int tryConnect(std::string& err) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res);
    if (rc != 0) {
      err = std::string("cannot resolve '") + host_ + "': " + gai_strerror(rc);
      return -1;
    }
    int fd = -1;
    for (addrinfo* a = res; a; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
      err = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
  }

  void sendAll(const char* p, size_t n, const std::string& what) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw ConnectionError("store " + what + ": the connection to " + where() + " is lost (" + std::strerror(errno) + ")");
      p += w;
      n -= (size_t)w;
    }
  }

  void recvAll(char* p, size_t n, const std::string& what) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw ConnectionError("store " + what + ": the store at " + where() + " closed the connection");
      p += r;
      n -= (size_t)r;
    }
  }

  /** One request and its answer; TIMEOUT → TimeoutError, ERROR → runtime_error. Returns the body. */
  Buf call(const Buf& req, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_ < 0) throw ConnectionError("store " + what + ": not connected to " + where());
    uint32_t n = (uint32_t)req.data.size();
    char head[4];
    std::memcpy(head, &n, 4);
    sendAll(head, 4, what);
    sendAll(req.data.data(), n, what);
    recvAll(head, 4, what);
    std::memcpy(&n, head, 4);
    Buf r;
    r.data.resize(n);
    recvAll(r.data.data(), n, what);
    uint8_t status = (uint8_t)r.data[0];
    r.data.erase(r.data.begin());
    if (status == 1) {
      size_t off = 0;
      uint32_t k = r.rd32(off);
      std::vector<std::string> missing;
      std::string list;
      for (uint32_t i = 0; i < k; i++) {
        auto v = r.bytes(off);
        missing.emplace_back(v.begin(), v.end());
        list += (i ? ", " : "") + missing.back();
      }
      throw TimeoutError("store " + what + " timed out; missing keys: " + list, missing);
    }
    if (status != 0) throw std::runtime_error("store " + what + ": " + std::string(r.data.begin() + 4, r.data.end()));
    return r;
  }

  std::string host_;
  int port_;
  int64_t timeoutMs_;
  int fd_ = -1;
  std::mutex mu_;
};

}  // namespace store
}  // namespace falcon
