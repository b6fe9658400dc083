#include "app/distributed.hpp"

#include "app/calibrate.hpp"

#include <cstdlib>
#include <iostream>

#include "engine/errors.hpp"
#include "engine/machine.hpp"
#include "engine/version.hpp"

#ifdef LOYALSIM_HAVE_MPI
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#endif

namespace loyalsim::app::distributed {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

}  // namespace

int launched_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"})
    if (const int n = env_int(name); n > 0) return n;
  // srun without an MPI-specific variable: a task count only counts inside a step.
  if (std::getenv("SLURM_STEP_ID") && env_int("SLURM_NTASKS") > 0) return env_int("SLURM_NTASKS");
  return 1;
}

int ranks_on_this_node() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const int n = env_int(name); n > 0) return n;
  return 1;
}

#ifndef LOYALSIM_HAVE_MPI

bool available() { return false; }
Session::Session(int&, char**&) {
  throw engine::RuntimeFailure("this loyalsim was built without MPI, but an MPI launcher started " +
                               std::to_string(launched_ranks()) +
                               " copies of it; rebuild with Open MPI installed (see docs/mpi.md) or run one process");
}
Session::~Session() = default;
void Session::abort(int code) const { std::exit(code); }
int agree_to_start(const Session&, int code) { return code; }
void share_experiment(const Session&, Experiment&) {}
std::unique_ptr<RemoteWorkers> remote_workers(const Session&) { return nullptr; }
void work(const Session&, const Experiment&, int, const std::function<bool()>&) {}

#else

namespace {

constexpr int kRequestTag = 1;
constexpr int kReplyTagBase = 100;  // + the worker thread's index on its rank
constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();

// A request: the unit just finished (kNone for the first), the tag to answer
// on, and the finished unit's encoded result.
struct RequestHeader {
  std::uint64_t done_unit;
  std::int32_t reply_tag;
  std::int32_t pad = 0;
};

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(code, text, &n);
    throw engine::RuntimeFailure(std::string("MPI: ") + what + ": " + std::string(text, static_cast<std::size_t>(n)));
  }
}

std::string engine_id() { return std::string(engine::kEngineVersion) + " (commit " + engine::kGitCommit + ")"; }

void broadcast_string(std::string& s, int root) {
  std::uint64_t n = s.size();
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "broadcast length");
  s.resize(n);
  check(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD), "broadcast text");
}

class Coordinator final : public RemoteWorkers {
 public:
  explicit Coordinator(const Session& session) {
    // How many requesting threads each rank runs: the count of "finish"
    // answers that ends the serving loop.
    std::vector<int> counts(static_cast<std::size_t>(session.size()));
    int mine = 0;
    check(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "gather worker counts");
    for (const int c : counts) requesters_ += c;
    remaining_ = requesters_;
  }

  void serve(const std::function<std::optional<std::uint64_t>()>& take,
             const std::function<void(std::uint64_t, const std::vector<std::byte>&)>& finish,
             const std::function<bool()>& stopping) override {
    // Workers left waiting by the previous round get this round's units first.
    std::vector<Waiting> waiting;
    waiting.swap(waiting_);
    for (const Waiting& w : waiting) answer(w, take);
    std::vector<std::byte> message;
    while (remaining_ > 0 && static_cast<int>(waiting_.size()) < remaining_) {
      if (stopping()) return;
      int ready = 0;
      MPI_Status status;
      check(MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &ready, &status), "probe");
      if (!ready) {
        // Polling gently: a blocking receive would spin a core rank 0's own workers need.
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      message.resize(static_cast<std::size_t>(bytes));
      check(MPI_Recv(message.data(), bytes, MPI_BYTE, status.MPI_SOURCE, kRequestTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
            "receive a request");
      RequestHeader header;
      std::memcpy(&header, message.data(), sizeof header);
      if (header.done_unit != kNone)
        finish(header.done_unit, std::vector<std::byte>(message.begin() + sizeof header, message.end()));
      answer({status.MPI_SOURCE, header.reply_tag}, take);
    }
  }

  // Tells every worker to end: those waiting, and those whose first request
  // has not arrived yet (a resumed calibration may have nothing left to run).
  void finish() override {
    persistent = false;
    serve([] { return std::optional<std::uint64_t>(); }, [](std::uint64_t, const std::vector<std::byte>&) {},
          [] { return false; });
  }

 private:
  struct Waiting {
    int source, reply_tag;
  };

  // The next unit for a requester; with none left, it waits (persistent) or ends.
  void answer(const Waiting& w, const std::function<std::optional<std::uint64_t>()>& take) {
    const auto unit = take();
    if (!unit && persistent) {
      waiting_.push_back(w);
      return;
    }
    if (!unit) --remaining_;
    send_unit(w, unit ? *unit : kNone);
  }

  // A unit's id, followed by its payload when units carry one.
  void send_unit(const Waiting& w, std::uint64_t unit) {
    std::vector<std::byte> reply(sizeof unit);
    std::memcpy(reply.data(), &unit, sizeof unit);
    if (unit != kNone && unit_payload) {
      const auto extra = unit_payload(unit);
      reply.insert(reply.end(), extra.begin(), extra.end());
    }
    check(MPI_Send(reply.data(), static_cast<int>(reply.size()), MPI_BYTE, w.source, w.reply_tag, MPI_COMM_WORLD),
          "answer a request");
  }

  int requesters_ = 0;
  int remaining_ = 0;  // requesters not yet told to end
  std::vector<Waiting> waiting_;
};

struct Stop {};

// Waits for rank 0's answer on `tag` (a unit id and maybe its payload),
// holding the MPI lock only while probing and receiving.
void receive_reply(std::mutex& mpi, int tag, std::vector<std::byte>& reply, const std::function<bool()>& should_stop) {
  for (;;) {
    {
      const std::lock_guard lock(mpi);
      int ready = 0;
      MPI_Status status;
      check(MPI_Iprobe(0, tag, MPI_COMM_WORLD, &ready, &status), "probe for a unit");
      if (ready) {
        int bytes = 0;
        MPI_Get_count(&status, MPI_BYTE, &bytes);
        reply.resize(static_cast<std::size_t>(bytes));
        check(MPI_Recv(reply.data(), bytes, MPI_BYTE, 0, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive a unit");
        return;
      }
    }
    if (should_stop && should_stop()) throw Stop{};
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace

bool available() { return true; }

Session::Session(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided), "initialise");
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw engine::RuntimeFailure("MPI: this MPI library cannot serve several threads (MPI_THREAD_SERIALIZED)");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Session::~Session() { MPI_Finalize(); }

void Session::abort(int code) const {
  std::cerr.flush();
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

int agree_to_start(const Session&, int code) {
  check(MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD), "agree to start");
  return code;
}

void share_experiment(const Session& session, Experiment& e) {
  // The engine build first: parsing or computing with another build would
  // give other numbers.
  std::string id = engine_id(), root_id = id;
  broadcast_string(root_id, 0);
  const int differs = root_id != id ? 1 : 0;
  if (differs)
    std::cerr << "loyalsim: rank " << session.rank() << " on " << engine::host_name() << " runs loyalsim " << id
              << ", rank 0 runs " << root_id << "; every rank must run the same build.\n";
  int any = 0;
  check(MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "compare engine builds");
  if (any) throw engine::RuntimeFailure("ranks run different loyalsim builds (see the messages above); nothing was run");

  std::string text = e.toml_text, source = e.source.string();
  std::uint32_t replications = e.replications;
  broadcast_string(text, 0);
  broadcast_string(source, 0);
  check(MPI_Bcast(&replications, 1, MPI_UINT32_T, 0, MPI_COMM_WORLD), "broadcast replications");
  if (session.rank() != 0) {
    e = parse_experiment(text, source);
    e.replications = replications;
  }
}

std::unique_ptr<RemoteWorkers> remote_workers(const Session& session) {
  return std::make_unique<Coordinator>(session);
}

void work(const Session&, const Experiment& e, int threads, const std::function<bool()>& should_stop) {
  const ThreadPlan plan = plan_for(e, threads);
  int mine = plan.concurrent;
  check(MPI_Gather(&mine, 1, MPI_INT, nullptr, 0, MPI_INT, 0, MPI_COMM_WORLD), "gather worker counts");

  std::mutex mpi;  // MPI_THREAD_SERIALIZED: one thread in MPI at a time
  std::mutex error_mutex;
  std::exception_ptr error;
  auto requester = [&](int index) {
    try {
      std::vector<std::byte> message(sizeof(RequestHeader));
      RequestHeader header{kNone, kReplyTagBase + index};
      std::vector<std::byte> reply;
      for (;;) {
        std::memcpy(message.data(), &header, sizeof header);
        {
          const std::lock_guard lock(mpi);
          check(MPI_Send(message.data(), static_cast<int>(message.size()), MPI_BYTE, 0, kRequestTag, MPI_COMM_WORLD),
                "send a request");
        }
        // The answer may wait for a calibration's next round: poll, so this
        // rank's other threads can still return their results meanwhile.
        receive_reply(mpi, header.reply_tag, reply, should_stop);
        std::uint64_t unit = kNone;
        std::memcpy(&unit, reply.data(), sizeof unit);
        if (unit == kNone) return;
        const auto on_month = [&] {
          if (should_stop && should_stop()) throw Stop{};
        };
        const std::span<const std::byte> payload(reply.data() + sizeof unit, reply.size() - sizeof unit);
        const auto runs = payload.empty() ? run_unit(e, unit, plan.per_run, on_month)
                                          : run_batch_unit(e, unit, payload, plan.per_run, on_month);
        message.resize(sizeof header);
        const auto bytes = encode_replication(runs);
        message.insert(message.end(), bytes.begin(), bytes.end());
        header.done_unit = unit;
      }
    } catch (const Stop&) {
    } catch (...) {
      const std::lock_guard lock(error_mutex);
      error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < plan.concurrent; ++i) pool.emplace_back(requester, i);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

#endif

}  // namespace loyalsim::app::distributed
