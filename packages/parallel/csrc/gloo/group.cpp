// The Gloo process group: rendezvous, the FIFO thread and the point-to-point wait threads, fault diagnosis (see group.h).
#include "group.h"

#include <gloo/common/error.h>
#include <gloo/transport/tcp/attr.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace falcon {
namespace gloo_pg {

namespace {

/** gloo::rendezvous::Store over the blocking store client, with the group's timeout on every wait. */
class StoreAdapter : public ::gloo::rendezvous::Store {
 public:
  StoreAdapter(store::Client& c, int64_t timeoutMs) : c_(c), timeoutMs_(timeoutMs) {}
  void set(const std::string& key, const std::vector<char>& data) override { c_.set(key, data); }
  std::vector<char> get(const std::string& key) override { return c_.get(key, timeoutMs_); }
  void wait(const std::vector<std::string>& keys) override { c_.wait(keys, timeoutMs_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override { c_.wait(keys, timeout.count()); }

 private:
  store::Client& c_;
  int64_t timeoutMs_;
};

std::string deadKey(int globalRank) { return "__falcon/dead/" + std::to_string(globalRank); }

}  // namespace

std::shared_ptr<::gloo::transport::Device> sharedDevice(const std::string& hostname, const std::string& iface) {
  static std::mutex mu;
  static std::shared_ptr<::gloo::transport::Device> dev;
  static std::string key;
  std::lock_guard<std::mutex> lock(mu);
  std::string want = hostname + "|" + iface;
  if (dev) {
    if (key != want) throw std::runtime_error("the gloo tcp device of this process was made for '" + key + "'; a group asked for '" + want + "'");
    return dev;
  }
  ::gloo::transport::tcp::attr attr;
  if (!iface.empty()) attr.iface = iface;
  else attr.hostname = hostname.empty() ? "127.0.0.1" : hostname;
  dev = ::gloo::transport::tcp::CreateDevice(attr);
  key = want;
  return dev;
}

Group::Group(GroupOptions o) : o_(std::move(o)) {
  fifoThread_ = std::thread([this] { fifoLoop(); });
}

Group::~Group() { close(); }

std::string Group::describe() const {
  std::string r = "rank " + std::to_string(o_.globalRanks.empty() ? o_.rank : o_.globalRanks[o_.rank]) + " (group '" + o_.prefix + "' of ranks [";
  for (size_t i = 0; i < o_.globalRanks.size(); i++) r += (i ? "," : "") + std::to_string(o_.globalRanks[i]);
  return r + "])";
}

void Group::submit(Task* t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      t->failed = true;
      t->error = {t->op, t->op + " on " + describe() + ": the process group was destroyed", -1};
      // finish outside the lock
    } else {
      fifo_.push_back(t);
      cv_.notify_all();
      return;
    }
  }
  finish(t);
}

void Group::finish(Task* t) {
  if (t->done) t->done(t);
}

void Group::runGuarded(Task* t, const std::function<void()>& fn, bool p2p) {
  try {
    if (broken_) throw std::runtime_error("the group failed earlier and cannot run more collectives (" + brokenBy_ + ")");
    fn();
  } catch (const OpError& e) {
    t->failed = true;
    t->error = e;
  } catch (const InputError& e) {
    t->failed = true;
    t->error = {t->op, t->op + " on " + describe() + ": " + e.what(), -1};
  } catch (const store::TimeoutError& e) {
    t->failed = true;
    t->error = {t->op, t->op + " on " + describe() + ": " + e.what(), -1};
  } catch (const std::exception& e) {
    t->failed = true;
    bool already = broken_;
    t->error = already ? OpError{t->op, t->op + " on " + describe() + ": " + e.what(), -1} : diagnose(t->op, e.what(), p2p, t->peer);
    if (!already && t->op != "rendezvous") {
      broken_ = true;
      brokenBy_ = t->error.message;
    }
  }
}

void Group::fifoLoop() {
  while (true) {
    Task* t;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !fifo_.empty(); });
      if (fifo_.empty()) return;
      t = fifo_.front();
      fifo_.pop_front();
    }
    runGuarded(t, t->run, t->peer >= 0);
    if (t->wait && !t->failed) spawnWait(t);
    else finish(t);
  }
}

void Group::spawnWait(Task* t) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  waiters_.push_back({std::thread([this, t, done] {
                        runWait(t);
                        done->store(true);
                      }),
                      done});
}

void Group::runWait(Task* t) {
  // A p2p wait failing does not break the group's collectives: only that op fails.
  try {
    t->wait();
  } catch (const InputError& e) {
    t->failed = true;
    t->error = {t->op, e.what(), -1};
  } catch (const std::exception& e) {
    t->failed = true;
    t->error = diagnose(t->op, e.what(), true, t->peer);
  }
  finish(t);
}

void Group::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !fifoThread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (fifoThread_.joinable()) fifoThread_.join();
  std::vector<Waiter> ws;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ws.swap(waiters_);
  }
  for (auto& w : ws) w.thread.join();
  if (store_ && o_.registerLiveness) {
    try {
      store_->unregister();
    } catch (...) {
    }
  }
  ctx_.reset();
  store_.reset();
}

void Group::connect() {
  const std::string& p = o_.prefix;
  store_ = std::make_unique<store::Client>(o_.storeHost, o_.storePort, o_.timeoutMs);
  if (o_.registerLiveness) store_->registerRank(o_.globalRanks[o_.rank]);
  // Arrival barrier: a rank that never comes is named here (gloo's own wait would only time out).
  store_->set(p + "/arrive/" + std::to_string(o_.rank), {'1'});
  std::vector<std::string> keys;
  for (int r = 0; r < o_.size; r++) keys.push_back(p + "/arrive/" + std::to_string(r));
  try {
    store_->wait(keys, o_.timeoutMs);
  } catch (const store::TimeoutError& e) {
    std::string absent;
    int first = -1;
    for (auto& k : e.missing) {
      int r = std::stoi(k.substr(k.rfind('/') + 1));
      int g = o_.globalRanks[r];
      if (first < 0) first = g;
      absent += (absent.empty() ? "" : ", ") + std::to_string(g);
    }
    OpError err{"rendezvous", "rendezvous of " + describe() + " timed out after " + std::to_string(o_.timeoutMs) + " ms: rank(s) " + absent + " never arrived", first};
    throw err;
  }
  auto dev = sharedDevice(o_.hostname, o_.iface);
  StoreAdapter adapter(*store_, o_.timeoutMs);
  ::gloo::rendezvous::PrefixStore prefixed(p + "/gloo", adapter);
  ctx_ = std::make_shared<::gloo::rendezvous::Context>(o_.rank, o_.size);
  ctx_->setTimeout(std::chrono::milliseconds(o_.timeoutMs));
  ctx_->connectFullMesh(prefixed, dev);
}

OpError Group::diagnose(const std::string& op, const std::string& what, bool p2p, int peer) {
  // Every survivor of a failed collective posts a mark under the op's sequence number; the first to
  // decide which rank is missing records a verdict that later ones adopt (so every rank names the
  // same one); the rank hosting the store waits until the others have decided before it reports
  // (its process is likely to exit right after, taking the store with it).
  OpError e{op, "", -1};
  const int me = o_.globalRanks[o_.rank];
  std::string reason;
  if (!store_) {
    e.message = op + " failed on " + describe() + ": " + what;
    return e;
  }
  std::vector<int> others;
  for (int r = 0; r < o_.size; r++)
    if (r != o_.rank && (peer < 0 || r == peer)) others.push_back(r);
  const std::string base = o_.prefix + "/fault/" + (p2p ? "p2p-" + std::to_string(o_.rank) + "-" : "") + std::to_string(seq_) + "/";
  auto toChars = [](const std::string& v) { return std::vector<char>(v.begin(), v.end()); };
  try {
    if (!p2p) store_->set(base + std::to_string(o_.rank), {'1'});
    int64_t grace = std::min<int64_t>(3000, std::max<int64_t>(300, o_.timeoutMs / 4));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace);
    std::set<int> answered;
    bool decided = false;
    while (!decided) {
      if (store_->check({base + "verdict"})) {
        auto v = store_->get(base + "verdict", 1000);
        std::string s(v.begin(), v.end());
        auto bar = s.find('|');
        e.missingRank = std::stoi(s.substr(0, bar));
        reason = s.substr(bar + 1);
        break;
      }
      for (int r : others) {
        if (store_->check({deadKey(o_.globalRanks[r])})) {
          e.missingRank = o_.globalRanks[r];
          reason = "rank " + std::to_string(e.missingRank) + " is missing (its process exited)";
          decided = true;
          break;
        }
      }
      if (decided) break;
      if (!p2p) {
        for (int r : others)
          if (!answered.count(r) && store_->check({base + std::to_string(r)})) answered.insert(r);
        if (answered.size() == others.size()) break;  // everyone is here: not a missing-rank failure
      }
      if (std::chrono::steady_clock::now() > deadline) {
        for (int r : others) {
          if (!answered.count(r)) {
            e.missingRank = o_.globalRanks[r];
            reason = "rank " + std::to_string(e.missingRank) + " is missing (it did not take part in this " + op + " within the timeout)";
            decided = true;
            break;
          }
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (decided && !p2p) store_->set(base + "verdict", toChars(std::to_string(e.missingRank) + "|" + reason));
    if (!p2p) store_->set(base + "done/" + std::to_string(o_.rank), {'1'});
    if (!p2p && o_.storeHostRank == me) {
      std::vector<std::string> keys;
      for (int r : others)
        if (o_.globalRanks[r] != e.missingRank) keys.push_back(base + "done/" + std::to_string(r));
      try {
        store_->wait(keys, std::min<int64_t>(o_.timeoutMs, 10000));
      } catch (const store::TimeoutError&) {
        // a rank that stopped answering later: report anyway
      }
    }
  } catch (const store::ConnectionError&) {
    if (o_.storeHostRank >= 0 && o_.storeHostRank != me) {
      e.missingRank = o_.storeHostRank;
      reason = "rank " + std::to_string(e.missingRank) + " is missing (the store it hosted is unreachable: its process exited)";
    } else {
      reason = "the store is unreachable";
    }
  } catch (const std::exception& x) {
    reason = std::string("(diagnosis failed: ") + x.what() + ")";
  }
  e.message = op + " failed on " + describe() + (reason.empty() ? "" : ": " + reason) + ": " + what;
  return e;
}

}  // namespace gloo_pg
}  // namespace falcon
