// One Gloo process group of the @falcon/parallel addon: a full-mesh gloo context over the tcp
// transport, rendezvoused through @falcon/parallel's TCP store, and the threads that run its
// work so the JavaScript thread never blocks (unless it asks for a synchronous op):
//   - the FIFO thread runs the group's collectives one after another, in the order they were
//     issued (every rank issues a group's collectives in the same order, as torch requires), and
//     posts point-to-point sends/receives (posting never blocks);
//   - each posted send/receive is then waited for on a thread of its own (so rings, and receives
//     in another order than the sends, cannot deadlock; every message has its own slot, so the
//     order in which they complete does not matter).
// A failed op is diagnosed before it is reported: which rank of the group is missing (its process
// exited — its store connection dropped — or it did not answer within a grace period).
#pragma once
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../common/store_client.h"

namespace falcon {
namespace gloo_pg {

/** What a failed op reports: the message and, where determined, the missing rank (global numbering). */
struct OpError {
  std::string op;
  std::string message;
  int missingRank = -1;
};

/** Bad input found on every rank alike (e.g. shapes differ between ranks): not a fault, the group stays usable. */
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/** A unit of work. `run` executes on the FIFO thread; if `wait` is set it then runs on a wait thread of its own. */
struct Task {
  std::string op;
  std::function<void()> run;
  std::function<void()> wait;
  std::function<void(Task*)> done;  // called on the thread that finished the task (FIFO or wait thread)
  int peer = -1;  // point-to-point: the group rank of the other side
  bool failed = false;
  OpError error;
  void* user = nullptr;  // the binding's per-task state (promise, references)
};

/** How a group is set up (from JavaScript). */
struct GroupOptions {
  std::string storeHost;
  int storePort = 0;
  std::string prefix;     // unique per group, e.g. "world" or "g3"
  int rank = 0;           // rank within the group
  int size = 1;
  std::vector<int> globalRanks;  // global rank of each group rank
  int64_t timeoutMs = 1800000;
  std::string hostname;   // tcp transport: address to bind/advertise (default 127.0.0.1)
  std::string iface;      // or a network interface name (GLOO_SOCKET_IFNAME)
  bool registerLiveness = false;  // the world group: REGISTER this process's global rank with the store
  int storeHostRank = -1;         // global rank hosting the store (-1: the launcher hosts it)
};

class Group {
 public:
  explicit Group(GroupOptions o);
  ~Group();

  /** Queues a task (thread-safe). */
  void submit(Task* t);

  /** Rendezvous (runs as a FIFO task): arrival barrier naming absent ranks, then gloo's full mesh. */
  void connect();

  /** Stops the threads (after the queued work) and frees the gloo context. */
  void close();

  const GroupOptions& options() const { return o_; }
  std::shared_ptr<::gloo::Context> context() const { return ctx_; }
  /** Sequence number of the current collective (same on every rank). */
  uint64_t seq() const { return seq_; }
  uint32_t nextTag() { return (uint32_t)(++seq_ & 0x00FFFFFF); }

  /** Builds the OpError of a failed op (FIFO or wait thread): finds the missing rank. */
  OpError diagnose(const std::string& op, const std::string& what, bool p2p, int peer);

  /** "rank 1 of group world [0,1,2]" for messages. */
  std::string describe() const;

 private:
  void fifoLoop();
  void spawnWait(Task* t);
  void runWait(Task* t);
  void finish(Task* t);
  void runGuarded(Task* t, const std::function<void()>& fn, bool p2p);

  GroupOptions o_;
  std::unique_ptr<store::Client> store_;
  std::shared_ptr<::gloo::rendezvous::Context> ctx_;
  uint64_t seq_ = 0;
  bool broken_ = false;
  std::string brokenBy_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task*> fifo_;
  bool stopping_ = false;
  std::thread fifoThread_;
  struct Waiter {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Waiter> waiters_;
};

/** The tcp transport device of this process (one, shared by every group; made on first use). */
std::shared_ptr<::gloo::transport::Device> sharedDevice(const std::string& hostname, const std::string& iface);


}  // namespace gloo_pg
}  // namespace falcon
