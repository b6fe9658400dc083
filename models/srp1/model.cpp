#include "models/srp1/model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/parallel.hpp"
#include "engine/phases.hpp"
#include "engine/random.hpp"
#include "models/srp1/processes.hpp"

namespace loyalsim::srp1 {

const std::array<MetricInfo, kMetricCount> kMetricInfo = {{
    {"active", "customers", "customers active at the end of the month (adopters included)", true},
    {"acquired", "customers", "prospects who adopted in the month", false},
    {"acquired_referred", "customers", "prospects who adopted through word of mouth", false},
    {"churned", "customers", "customers who churned in the month", false},
    {"failures", "failures", "service failures", false},
    {"complaints", "complaints", "failures the customer complained about", false},
    {"silent_failures", "failures", "failures neither complained about nor detected by the firm", false},
    {"proactive_recoveries", "failures", "failures nobody complained about that the firm detected and recovered", false},
    {"recoveries_satisfied", "recoveries", "recoveries (of complaints and proactive) that met expectations (D >= 0)", false},
    {"recoveries_dissatisfied", "recoveries", "recoveries (of complaints and proactive) that fell short (D < 0)", false},
    {"paradox_events", "recoveries", "recoveries leaving reported satisfaction above its pre-failure value", false},
    {"revenue", "money", "spend of customers who stayed", false},
    {"margin", "money", "revenue times margin", false},
    {"compensation_paid", "money", "compensation paid in recoveries", false},
    {"handling_cost", "money", "recovery handling cost (contacts times cost per contact)", false},
    {"recovery_cost", "money", "compensation plus handling plus gestures", false},
    {"programme_cost", "money", "the policy's running cost: cost per customer-month times customers active at the start of the month", false},
    {"acquisition_cost", "money", "customers won by advertising times the acquisition cost (referrals are free)", false},
    {"wom_positive", "messages", "positive word-of-mouth messages (expected counts)", false},
    {"wom_negative", "messages", "negative word-of-mouth messages (expected counts)", false},
    {"mean_satisfaction", "1", "mean reported satisfaction of customers active at the end of the month", true},
    {"cohort_active", "customers", "initial customers still active", true},
    {"quality", "1", "the firm's quality factor Q used in the month", true},
    {"root_cause_fixes", "fixes", "root causes fixed", false},
    {"discounted_margin", "money", "margin discounted to month 0", false},
    {"net_value", "money", "margin minus recovery, programme and acquisition costs, discounted to month 0", false},
}};

const std::vector<MeasureInfo> kMeasureInfo = {
    {"active", "active customers", "count", true, {kActive}, {}, "", "higher"},
    {"retention", "cohort retention", "share", true, {kCohortActive}, {}, "customers", "higher"},
    {"revenue", "revenue", "money", false, {kRevenue}, {}, "", "higher"},
    {"recovery_cost", "recovery cost", "money", false, {kRecoveryCost}, {}, "", "lower"},
    {"programme_cost", "programme cost", "money", false, {kProgrammeCost}, {}, "", "lower"},
    {"acquisition_cost", "acquisition cost", "money", false, {kAcquisitionCost}, {}, "", "lower"},
    {"net_value", "net value (discounted)", "money", false, {kNetValue}, {}, "", "higher"},
    {"satisfied_share", "satisfied recoveries", "share", false, {kRecoveriesSatisfied},
     {kComplaints, kProactiveRecoveries}, "", "higher"},
    // The paradox is a measurement, not a goal (FACTS.md F1, F4): neither direction is better.
    {"paradox_share", "paradox events", "share", false, {kParadoxEvents}, {kComplaints, kProactiveRecoveries}, "",
     "none"},
    {"wom_positive", "positive WOM", "messages", false, {kWomPositive}, {}, "", "higher"},
    {"wom_negative", "negative WOM", "messages", false, {kWomNegative}, {}, "", "lower"},
};

namespace {

using engine::RandomStream;
namespace proc = process;

enum class Status : std::uint8_t { prospect = 0, active = 1, churned = 2 };
constexpr std::uint8_t kNoCause = 255;
// Policies simulated together in one pass over the nodes (policy lanes).
constexpr std::size_t kMaxLanes = 8;

// What a run derives once from the parameters, whatever the policy.
struct RunConstants {
  std::vector<double> segment_cumulative;  // normalised shares, cumulative, the last 1
  std::array<double, kCauses> cause_cumulative{};
  std::vector<double> tenure_factor;       // (1 + tenure)^(-churn_tenure) for every tenure a run can reach
  double log_repeat_damping;               // -inf when repeat_damping = 0: damping^f = 0 for f > 0
  proc::AdoptionConstants adoption;

  explicit RunConstants(const Scenario& sc)
      : log_repeat_damping(engine::fast_log(sc.model.repeat_damping)), adoption(sc.wom) {
    const auto& m = sc.model;
    double total = 0;
    for (const auto& s : sc.segments) total += s.share;
    double acc = 0;
    for (const auto& s : sc.segments) segment_cumulative.push_back(acc += s.share / total);
    segment_cumulative.back() = 1.0;
    double ctotal = 0;
    for (double c : m.cause_share) ctotal += c;
    double cacc = 0;
    for (int c = 0; c < kCauses; ++c) cause_cumulative[c] = (cacc += m.cause_share[c] / ctotal);
    cause_cumulative[kCauses - 1] = 1.0;
    const std::uint32_t max_tenure = sc.population.initial_tenure_max + sc.warmup_months + sc.horizon_months + 1;
    tenure_factor.resize(max_tenure + 1);
    for (std::uint32_t t = 0; t <= max_tenure; ++t) tenure_factor[t] = proc::tenure_factor(t, m.churn_tenure);
  }
  [[nodiscard]] std::uint8_t segment_of(double u) const {
    std::size_t i = 0;
    while (i + 1 < segment_cumulative.size() && u >= segment_cumulative[i]) ++i;
    return static_cast<std::uint8_t>(i);
  }
  [[nodiscard]] std::uint16_t next_tenure(std::uint16_t t) const {
    return static_cast<std::uint16_t>(std::min<std::size_t>(t + 1u, tenure_factor.size() - 1));
  }
};

// A policy's constants: its justice parts that do not depend on the failure.
struct PolicyConstants {
  const Policy* policy = nullptr;
  double interactional = 0, distributive = 0, inv_justice = 1, log1m_fcr = 0;
  PolicyConstants() = default;
  PolicyConstants(const ModelParams& m, const Policy& p)
      : policy(&p), interactional(proc::interactional_justice(m.interactional_weights, p)),
        distributive(proc::distributive_justice(p.compensation, m.over_compensation_penalty)),
        inv_justice(1.0 / (m.justice_weights.distributive + m.justice_weights.interactional +
                           m.justice_weights.procedural)),
        log1m_fcr(proc::log1m(p.first_contact_resolution)) {}
};

// One month's sums of one lane: one slot per metric, summed over fixed blocks.
struct MonthSums {
  std::array<double, kMetricCount> v{};
  double reported_satisfaction = 0.0;
  double active_at_start = 0.0;  // customers active at the start of the month (programme cost)
  std::array<double, kBands> band_failures{}, band_complaints{};
  MonthSums& operator+=(const MonthSums& o) {
    for (int i = 0; i < kMetricCount; ++i) v[i] += o.v[i];
    reported_satisfaction += o.reported_satisfaction;
    active_at_start += o.active_at_start;
    for (int b = 0; b < kBands; ++b) band_failures[b] += o.band_failures[b], band_complaints[b] += o.band_complaints[b];
    return *this;
  }
};
struct LaneSums {
  std::array<MonthSums, kMaxLanes> lane;
  // Per lane and segment: {churned, active at the start}; sized on first use
  // (most blocks of a run see every segment, and segments are few).
  std::vector<double> segment;
  void count_segment(std::size_t lane, std::size_t seg, std::size_t segments, bool churned) {
    if (segment.empty()) segment.assign(kMaxLanes * segments * 2, 0.0);
    segment[(lane * segments + seg) * 2 + 1] += 1;
    if (churned) segment[(lane * segments + seg) * 2] += 1;
  }
  LaneSums& operator+=(const LaneSums& o) {
    for (std::size_t l = 0; l < kMaxLanes; ++l) lane[l] += o.lane[l];
    if (segment.empty()) segment.assign(o.segment.size(), 0.0);
    for (std::size_t i = 0; i < o.segment.size(); ++i) segment[i] += o.segment[i];
    return *this;
  }
};

// Per-node state: shared by the lanes (segment, node id), and per lane,
// stored with the lane index fastest (slot s, lane l at s * K + l) so one
// node's lanes sit together. Slots are the network's storage order (ring
// order: ring neighbours sit next to each other), initial customers first;
// a slot's draws are keyed by its node id. Floats hold the continuous
// states: their 24-bit precision is far below the model's noise and halves
// memory traffic.
template <std::size_t K>
struct State {
  // This month's messages / degree, what each of the node's ties carries,
  // for every lane: one node's record is one 64-byte line at K = 8, so an
  // exposure read of a neighbour fetches every lane at once.
  struct alignas(8 * K) Emission {
    float pos[K], neg[K];
  };
  State(std::size_t nodes, std::size_t lanes)
      : segment(nodes), inv_degree(nodes), status(nodes * K, Status::churned), fails(nodes * K),
        last_cause(nodes * K, kNoCause), bad(nodes * K), first_fail_cell(nodes * K), tenure(nodes * K),
        first_fail_month(nodes * K), churn_month(nodes * K), S(nodes * K), X(nodes * K), spike(nodes * K),
        emitted(nodes), lanes(lanes) {}
  std::vector<std::uint8_t> segment;
  std::vector<float> inv_degree;  // 1 / max(1, degree): the share of a message each tie carries
  std::vector<Status> status;
  std::vector<std::uint8_t> fails, last_cause, bad, first_fail_cell;
  std::vector<std::uint16_t> tenure, first_fail_month, churn_month;
  std::vector<float> S, X, spike;
  std::vector<Emission> emitted;
  std::size_t lanes;  // lanes in use (K is padded to a power of two; the others stay churned: inert)
  // Lane 0's state copied to every lane in use (after the shared warm-up).
  void broadcast_lane0() {
    for (std::size_t n = 0; n < segment.size(); ++n)
      for (std::size_t l = 1; l < lanes; ++l) {
        const std::size_t a = n * K, b = n * K + l;
        status[b] = status[a], fails[b] = fails[a], last_cause[b] = last_cause[a], bad[b] = bad[a];
        first_fail_cell[b] = first_fail_cell[a], tenure[b] = tenure[a], first_fail_month[b] = first_fail_month[a];
        churn_month[b] = churn_month[a], S[b] = S[a], X[b] = X[a], spike[b] = spike[a];
      }
  }
};
constexpr std::uint64_t kBytesPerNodeLane = 5 * 1 + 1 + 3 * 2 + 3 * 4 + 2 * sizeof(float);
constexpr std::uint64_t kBytesPerNodeShared = 1 + 4;
// Rows ahead of the exposure loop whose neighbours' emissions are prefetched.
constexpr std::uint32_t kPrefetchRows = 16;

// The draws of one failing node in one month, computed once for every lane
// (common random numbers: they do not depend on the policy).
struct FailureDraws {
  double s;            // severity
  int band;            // 0 minor, 1 major
  std::uint8_t cause;
  bool blame;
  double L;            // loss
  double u_complaint, u_detection, u_fix;
  double delay_variate;  // -log(1 - u): the delay is the mean times it
  double log_u_contacts;
  double z;            // the disconfirmation noise, standard normal
};

// The month's random streams. One uniform per (month, purpose, node), and
// two purposes share one Philox block (its words 0-1 and 2-3): failure and
// churn, severity and cause, complaint and detection, delay and contacts,
// noise and root-cause fix (docs/model.md, "Randomness").
struct MonthStreams {
  RandomStream fail_churn, severity_cause, complaint_detection, delay_contacts, noise_fix, replace;
  MonthStreams(std::uint64_t seed, std::uint32_t rep, std::uint32_t month)
      : fail_churn(seed, rep, month, kFailureDraw), severity_cause(seed, rep, month, kSeverityDraw),
        complaint_detection(seed, rep, month, kComplaintDraw), delay_contacts(seed, rep, month, kDelayDraw),
        noise_fix(seed, rep, month, kNoiseDraw), replace(seed, rep, month, kInitialSatisfactionDraw) {}
  [[nodiscard]] FailureDraws failure(std::uint32_t id, const ModelParams& m, const RunConstants& rc) const {
    FailureDraws f;
    const auto [u_severity, u_cause] = severity_cause.uniform_pair(id);
    f.s = proc::severity(u_severity, m.severity_a, m.severity_b);
    f.band = proc::severity_band(f.s, m.major_threshold);
    f.cause = proc::cause_of(u_cause, rc.cause_cumulative);
    f.blame = proc::firm_to_blame(f.cause);
    f.L = proc::loss(m, f.s, f.cause);
    const auto [u_complaint, u_detection] = complaint_detection.uniform_pair(id);
    f.u_complaint = u_complaint, f.u_detection = u_detection;
    const auto [u_delay, u_contacts] = delay_contacts.uniform_pair(id);
    f.delay_variate = engine::fast_log1p_neg(u_delay);
    f.log_u_contacts = engine::fast_log(u_contacts);
    const auto [u_noise, u_fix] = noise_fix.uniform_pair(id);
    f.z = engine::inverse_normal_cdf(u_noise);
    f.u_fix = u_fix;
    return f;
  }
};

// What one lane does in a month: the policy in effect and its constants, the
// failure probability per segment (from the lane's quality).
struct LaneMonth {
  const PolicyConstants* pc;
  std::vector<double> p_fail;
};

// Initial satisfaction of node `id` from its month-0 draw (also when a prospect adopts).
double initial_satisfaction(const Segment& seg, const RandomStream& rng, std::uint32_t id) {
  return proc::initial_satisfaction(seg, engine::inverse_normal_cdf(rng.uniform(id)));
}

// Per-block scratch of the customer and prospect passes, one per thread.
struct BlockScratch {
  std::vector<std::uint32_t> slots, ids;
  std::vector<double> u_first, variate, exp_satisfaction, pos, neg;
  void size(std::size_t lanes) {
    slots.resize(engine::kBlock), ids.resize(engine::kBlock), u_first.resize(engine::kBlock);
    variate.resize(engine::kBlock);
    exp_satisfaction.resize(engine::kBlock * lanes), pos.resize(engine::kBlock * lanes), neg.resize(engine::kBlock * lanes);
  }
};
BlockScratch& scratch(std::size_t lanes) {
  thread_local BlockScratch s;
  s.size(lanes);
  return s;
}

// The K lanes of one replication, month by month (docs/model.md): the
// initial state, the warm-up, then each month the customers' pass (failure,
// recovery, relaxation, churn, spend, word of mouth), the prospects' pass
// (exposure, adoption, end-of-month stocks) and the month's close.
// K is the lane stride, a power of two at least the number of policies (so
// the lane loops of the exposure phase vectorise); K_ lanes are in use.
template <std::size_t K>
class Kernel {
 public:
  Kernel(const Scenario& sc, std::span<const std::size_t> policies, std::uint64_t seed, std::uint32_t rep,
         const engine::TieGraph& network, std::span<const std::uint32_t> storage_to_node, int threads)
      : sc_(sc), m_(sc.model), wom_(sc.wom), rc_(sc), seed_(seed), rep_(rep), network_(network),
        ids_(storage_to_node), threads_(threads), N_(static_cast<std::uint32_t>(sc.population.customers)),
        nodes_(static_cast<std::uint32_t>(sc.population.customers + sc.population.prospects)), K_(policies.size()),
        st_(nodes_, K_), baseline_(sc.model, sc.policies.front()) {
    for (const std::size_t p : policies) own_.emplace_back(sc.model, sc.policies.at(p));
    quality_.assign(K_, 1.0);
    lanes_.resize(K_);
    for (auto& l : lanes_) l.p_fail.resize(sc.segments.size());
  }

  std::vector<RunResult> run(const std::function<void()>& on_month) {
    const std::uint32_t T = sc_.horizon_months;
    std::vector<RunResult> out(K_);
    for (auto& r : out) {
      r.months = T;
      r.series.assign(static_cast<std::size_t>(kMetricCount) * (T + 1), 0.0);
      r.segment_churned.assign(sc_.segments.size() * (T + 1), 0);
      r.segment_active_start.assign(sc_.segments.size() * (T + 1), 0);
      r.first_failures.assign(T + 1, 0);
    }
    using engine::phases::Phase;
    using engine::phases::Scope;
    std::vector<std::uint8_t> quintile;
    {
      const Scope timed(Phase::initial);
      initial_state();
    }
    {
      const Scope timed(Phase::warmup);
      warm_up();
    }
    {
      const Scope timed(Phase::initial);
      record_month_zero(out);
      quintile = satisfaction_quintiles();
    }
    for (std::uint32_t t = 1; t <= T; ++t) {
      for (std::size_t l = 0; l < K_; ++l) lanes_[l].pc = t >= own_[l].policy->start_month ? &own_[l] : &baseline_;
      set_failure_probabilities();
      LaneSums month = [&] {
        const Scope timed(Phase::customers);
        return customers_month(t, t, K_);
      }();
      const LaneSums end = [&] {
        const Scope timed(Phase::exposure);
        return prospects_month(t);
      }();
      const Scope timed(Phase::close);
      for (std::size_t l = 0; l < K_; ++l) {
        MonthSums& ms = month.lane[l];
        const MonthSums& e = end.lane[l];
        for (const Metric m : {kActive, kCohortActive}) ms.v[m] += e.v[m];  // stayers, then adopters
        for (const Metric m : {kAcquired, kAcquiredReferred}) ms.v[m] = e.v[m];
        ms.reported_satisfaction += e.reported_satisfaction;
        record_counts(month, l, t, out[l]);
        close_month(ms, l, t, out[l]);
      }
      if (on_month)
        for (std::size_t l = 0; l < K_; ++l) on_month();
    }
    const Scope timed(Phase::facts);
    for (std::size_t l = 0; l < K_; ++l) fact_cohorts(l, quintile, out[l]);
    return out;
  }

 private:
  [[nodiscard]] std::uint32_t id_of(std::uint32_t slot) const { return ids_.empty() ? slot : ids_[slot]; }

  // Month 0: segments, tenure, satisfaction (drawn by node id). Every lane starts the same.
  void initial_state() {
    const RandomStream seg_rng(seed_, rep_, 0, kSegmentDraw), ten_rng(seed_, rep_, 0, kTenureDraw),
        sat_rng(seed_, rep_, 0, kInitialSatisfactionDraw);
    engine::block_reduce<MonthSums>(nodes_, threads_, [&](std::uint32_t b, std::uint32_t e, MonthSums&) {
      for (std::uint32_t s = b; s < e; ++s) {
        const std::uint32_t id = id_of(s);
        st_.segment[s] = rc_.segment_of(seg_rng.uniform(id));
        st_.inv_degree[s] = static_cast<float>(1.0 / std::max<std::uint32_t>(1, network_.degree(s)));
        st_.emitted[s] = {};
        if (s >= N_) {
          for (std::size_t l = 0; l < K_; ++l) st_.status[s * K + l] = Status::prospect;
          continue;
        }
        const auto tenure = static_cast<std::uint16_t>(ten_rng.uniform(id) * sc_.population.initial_tenure_max);
        const auto S = static_cast<float>(initial_satisfaction(sc_.segments[st_.segment[s]], sat_rng, id));
        for (std::size_t l = 0; l < K_; ++l) {
          st_.status[s * K + l] = Status::active;
          st_.tenure[s * K + l] = tenure;
          st_.S[s * K + l] = S;
        }
      }
    });
  }

  // Warm-up (1.1): the initial customers live W months under the baseline,
  // unrecorded; computed once, in lane 0, and copied to every lane.
  void warm_up() {
    if (sc_.warmup_months == 0) return;
    for (std::size_t l = 0; l < K_; ++l) lanes_[l].pc = &baseline_;
    for (std::uint32_t w = 1; w <= sc_.warmup_months; ++w) {
      set_failure_probabilities();
      const LaneSums month = customers_month(kWarmupMonthBase + w, 0, 1);
      quality_[0] = proc::next_quality(m_, quality_[0], month.lane[0].v[kRootCauseFixes], N_);
    }
    st_.broadcast_lane0();
    quality_.assign(K_, 1.0);  // Q is reset to 1 at month 0
  }

  void record_month_zero(std::vector<RunResult>& out) const {
    const MonthSums initial = engine::block_reduce<MonthSums>(N_, threads_, [&](std::uint32_t b, std::uint32_t e, MonthSums& acc) {
      for (std::uint32_t s = b; s < e; ++s) acc.reported_satisfaction += std::min(1.0f, st_.S[s * K] + st_.X[s * K]);
    });
    for (auto& r : out) {
      auto at = [&](Metric m) -> double& { return r.series[static_cast<std::size_t>(m) * (r.months + 1)]; };
      at(kActive) = N_;
      at(kCohortActive) = N_;
      at(kMeanSatisfaction) = initial.reported_satisfaction / N_;
      at(kQuality) = 1.0;
    }
  }

  // Quintile (0 = least satisfied) of each initial customer's reported
  // satisfaction at month 0 (lane 0: month 0 is the same in every lane): ranks
  // by (satisfaction, node id), so ties split the same way whatever the
  // storage order, and each quintile holds N/5 customers (+-1).
  [[nodiscard]] std::vector<std::uint8_t> satisfaction_quintiles() const {
    std::vector<std::pair<float, std::uint32_t>> order(N_);
    for (std::uint32_t s = 0; s < N_; ++s) order[s] = {std::min(1.0f, st_.S[s * K] + st_.X[s * K]), id_of(s)};
    std::sort(order.begin(), order.end());
    std::vector<std::uint32_t> slot_of(ids_.empty() ? 0 : nodes_);
    for (std::uint32_t s = 0; s < N_ && !ids_.empty(); ++s) slot_of[ids_[s]] = s;
    std::vector<std::uint8_t> quintile(N_);
    for (std::uint32_t rank = 0; rank < N_; ++rank) {
      const std::uint32_t id = order[rank].second;
      quintile[ids_.empty() ? id : slot_of[id]] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(rank) * kQuintiles / N_);
    }
    return quintile;
  }

  void set_failure_probabilities() {
    for (std::size_t l = 0; l < K_; ++l)
      for (std::size_t s = 0; s < sc_.segments.size(); ++s)
        lanes_[l].p_fail[s] = proc::failure_probability(sc_.segments[s].failure_rate, quality_[l]);
  }

  // ---- Phase 1: every customer active at the start of the month ----
  // In the first `lanes` lanes; `draw_month` is the draws' month counter;
  // `t` > 0 records facts and churn months (0 in the warm-up, where a churner
  // is replaced at once). A block goes in three passes so that the churn
  // hazards' exponentials are computed for the whole block at once
  // (engine::exp_array, vectorised): failures and relaxation, the
  // exponentials, then churn, spend and word of mouth.
  LaneSums customers_month(std::uint32_t draw_month, std::uint32_t t, std::size_t lanes) {
    const MonthStreams rng(seed_, rep_, draw_month);
    return engine::block_reduce<LaneSums>(nodes_, threads_, [&](std::uint32_t b, std::uint32_t e, LaneSums& acc) {
      BlockScratch& w = scratch(K);
      const std::size_t count = active_slots(b, e, lanes, w);
      rng.fail_churn.uniform_pairs(w.ids.data(), count, w.u_first.data(), w.variate.data());
      engine::log1p_neg_array(w.variate.data(), w.variate.data(), count);  // E = -log(1 - u_churn)
      for (std::size_t j = 0; j < count; ++j) failures_and_relaxation(j, t, lanes, rng, w, acc);
      engine::exp_array(w.exp_satisfaction.data(), w.exp_satisfaction.data(), count * K);
      for (std::size_t j = 0; j < count; ++j) churn_spend_and_wom(j, t, lanes, rng, w, acc);
    });
  }

  // The block's slots with a customer in some lane (their ids beside them);
  // the others emit nothing this month.
  std::size_t active_slots(std::uint32_t b, std::uint32_t e, std::size_t lanes, BlockScratch& w) {
    std::size_t count = 0;
    for (std::uint32_t s = b; s < e; ++s) {
      bool any = false;
      for (std::size_t l = 0; l < lanes; ++l) any |= st_.status[s * K + l] == Status::active;
      if (!any) {
        st_.emitted[s] = {};
        continue;
      }
      w.slots[count] = s;
      w.ids[count++] = id_of(s);
    }
    return count;
  }

  // Steps 1-3 for slot w.slots[j] in every lane where it is a customer: a
  // failure (drawn once for all lanes) and its recovery, then relaxation;
  // leaves each lane's word of mouth so far and its hazard exponent in `w`.
  void failures_and_relaxation(std::size_t j, std::uint32_t t, std::size_t lanes, const MonthStreams& rng,
                               BlockScratch& w, LaneSums& acc) {
    const std::uint32_t s = w.slots[j];
    const Segment& seg = sc_.segments[st_.segment[s]];
    std::optional<FailureDraws> failure;
    for (std::size_t l = 0; l < lanes; ++l) {
      const std::size_t i = s * K + l, x = j * K + l;
      w.exp_satisfaction[x] = 0.0;
      if (st_.status[i] != Status::active) continue;
      MonthSums& ms = acc.lane[l];
      ms.active_at_start += 1;
      double S = st_.S[i], X = st_.X[i], k = st_.spike[i], pos = 0.0, neg = 0.0;
      if (w.u_first[j] < lanes_[l].p_fail[st_.segment[s]]) {
        if (!failure) failure = rng.failure(w.ids[j], m_, rc_);
        recover_failure(*failure, seg, lanes_[l], i, t, S, X, k, pos, neg, ms);
      }
      proc::relax(m_, seg, S, X);
      st_.S[i] = static_cast<float>(S);
      st_.X[i] = static_cast<float>(X);
      st_.spike[i] = static_cast<float>(k);
      w.pos[x] = pos, w.neg[x] = neg;
      // The state was rounded to float above: the hazard uses what is stored.
      w.exp_satisfaction[x] = proc::satisfaction_exponent(m_, st_.S[i]);
    }
  }

  // Steps 4-6 for slot w.slots[j]: churn (h > E), then for those who stay
  // spend, tenure and ambient word of mouth; the month's emission.
  void churn_spend_and_wom(std::size_t j, std::uint32_t t, std::size_t lanes, const MonthStreams& rng,
                           const BlockScratch& w, LaneSums& acc) {
    const std::uint32_t s = w.slots[j];
    const Segment& seg = sc_.segments[st_.segment[s]];
    const double rate = seg.wom_rate, inv_deg = st_.inv_degree[s];
    auto& emitted = st_.emitted[s];
    for (std::size_t l = 0; l < lanes; ++l) {
      const std::size_t i = s * K + l, x = j * K + l;
      emitted.pos[l] = emitted.neg[l] = 0.0f;
      if (st_.status[i] != Status::active) continue;
      auto& v = acc.lane[l].v;
      double S = st_.S[i], X = st_.X[i], k = st_.spike[i], pos = w.pos[x], neg = w.neg[x];
      const double h = proc::churn_hazard(seg, w.exp_satisfaction[x], k, rc_.tenure_factor[st_.tenure[i]]);
      k = proc::decayed_spike(m_, k);
      const bool churned = proc::churns(w.variate[j], h);
      if (t > 0) acc.count_segment(l, st_.segment[s], sc_.segments.size(), churned);
      if (churned) {
        neg += wom_.churned * rate;
        v[kChurned] += 1;
        if (t == 0) {  // warm-up: replaced at once by a new customer at the same node
          st_.tenure[i] = 0;
          S = initial_satisfaction(seg, rng.replace, w.ids[j]);
          X = 0, k = 0;
          st_.fails[i] = 0, st_.bad[i] = 0, st_.last_cause[i] = kNoCause;
        } else {
          st_.status[i] = Status::churned;
          st_.churn_month[i] = static_cast<std::uint16_t>(t);
        }
      } else {
        v[kRevenue] += proc::spend(m_, seg, S);
        st_.tenure[i] = rc_.next_tenure(st_.tenure[i]);
        pos += proc::ambient_positive(wom_, rate, S);
        neg += proc::ambient_negative(wom_, rate, S);
      }
      LOYALSIM_INVARIANT(S >= 0.0 && S <= 1.0 && X >= 0.0 && k >= 0.0, "satisfaction state out of range");
      st_.S[i] = static_cast<float>(S);
      st_.X[i] = static_cast<float>(X);
      st_.spike[i] = static_cast<float>(k);
      if (st_.status[i] == Status::active) count_active_at_end(s, i, acc.lane[l]);
      v[kWomPositive] += pos;
      v[kWomNegative] += neg;
      emitted.pos[l] = static_cast<float>(pos * inv_deg);
      emitted.neg[l] = static_cast<float>(neg * inv_deg);
    }
  }

  // A failure of the customer in lane slot i: silent, or a complaint or a
  // proactive detection and the recovery that follows (docs/model.md step 2).
  void recover_failure(const FailureDraws& f, const Segment& seg, const LaneMonth& lane, std::size_t i,
                       std::uint32_t t, double& S, double& X, double& k, double& pos, double& neg, MonthSums& ms) {
    auto& v = ms.v;
    const PolicyConstants& pc = *lane.pc;
    const Policy& pol = *pc.policy;
    const double w = seg.wom_rate;
    v[kFailures] += 1;
    const bool repeat = f.cause == st_.last_cause[i];
    const std::uint8_t prior = st_.fails[i];
    const bool complained =
        f.u_complaint < proc::complaint_probability(m_, seg, f.s, f.blame, st_.bad[i], pol.complaint_encouragement);
    const bool detected = !complained && f.u_detection < pol.proactive_detection;
    ms.band_failures[f.band] += 1;
    if (complained) ms.band_complaints[f.band] += 1;
    int fact_class;
    if (!complained && !detected) {  // silent failure
      S = std::max(0.0, S - f.L);
      k += m_.spike_silent * f.s;
      neg += wom_.silent * w;
      v[kSilentFailures] += 1;
      fact_class = kSilent;
    } else {
      v[complained ? kComplaints : kProactiveRecoveries] += 1;
      const double delay = pol.response_days > 0 ? pol.response_days * f.delay_variate : 0.0;
      const double n_contacts =
          pol.first_contact_resolution >= 1.0 ? 1.0 : std::min(20.0, 1.0 + std::floor(f.log_u_contacts / pc.log1m_fcr));
      const double pj = proc::procedural_justice(delay, n_contacts, m_.speed_scale_days, m_.contact_elasticity);
      const double perf = proc::performance(m_.justice_weights, pc.inv_justice, pc.distributive, pc.interactional, pj);
      const double D = proc::disconfirmation(perf, proc::expectation(m_, f.s, prior, detected), m_.disconfirmation_sd, f.z);
      const bool satisfied = D >= 0.0;
      const double reported_before = proc::reported(S, X);
      const double damping = proc::gain_damping(m_, seg, rc_.log_repeat_damping, prior, repeat);
      proc::apply_paradox_scope(m_.paradox_scope, proc::recovered_satisfaction(m_, S, f.L, D, damping), S, X);
      if (proc::reported(S, X) > reported_before) v[kParadoxEvents] += 1;
      if (satisfied) {
        k += m_.spike_recovered * f.s;
        pos += wom_.complainant_satisfied * w;
        v[kRecoveriesSatisfied] += 1;
        fact_class = (delay <= m_.quick_days && n_contacts == 1.0) ? kResolvedQuick : kResolved;
      } else {
        k += m_.spike_unresolved * f.s;
        if (st_.bad[i] < 255) ++st_.bad[i];
        neg += wom_.complainant_dissatisfied * w;
        v[kRecoveriesDissatisfied] += 1;
        fact_class = kUnresolved;
      }
      const double handling = proc::handling_cost(pol, n_contacts);
      const double compensation = proc::compensation_paid(pol, m_, seg, f.s);
      v[kHandlingCost] += handling;
      v[kCompensationPaid] += compensation;
      v[kRecoveryCost] += handling + compensation + proc::gesture_cost(pol);
      if (f.blame && f.u_fix < pol.root_cause_fix) v[kRootCauseFixes] += 1;
    }
    // Fact cohorts: the first failure of the horizon, whatever a warm-up held.
    if (t > 0 && st_.first_fail_month[i] == 0) {
      st_.first_fail_month[i] = static_cast<std::uint16_t>(t);
      st_.first_fail_cell[i] = static_cast<std::uint8_t>(fact_class * kBands + f.band);
    }
    if (prior < 255) st_.fails[i] = prior + 1;
    st_.last_cause[i] = f.cause;
  }

  // ---- Phase 2: network exposure and adoption for prospects (a sparse
  // product over the tie lists), then the end-of-month stocks ----
  LaneSums prospects_month(std::uint32_t t) {
    const RandomStream r_adopt(seed_, rep_, t, kAdoptionDraw), sat_rng(seed_, rep_, 0, kInitialSatisfactionDraw);
    return engine::block_reduce<LaneSums>(nodes_, threads_, [&](std::uint32_t b, std::uint32_t e, LaneSums& acc) {
      BlockScratch& w = scratch(K);
      std::size_t count = 0;
      for (std::uint32_t s = b; s < e; ++s)
        if (is_prospect_somewhere(s)) w.slots[count] = s, w.ids[count++] = id_of(s);
      r_adopt.uniforms(w.ids.data(), count, w.u_first.data());
      for (std::size_t j = 0; j < count; ++j) {
        // Prefetch the emissions a prospect a few rows ahead will read: its
        // ties are random nodes, so the reads miss the cache; issued early,
        // they arrive while this row is being computed.
        if (j + kPrefetchRows < count)
          for (std::uint32_t n : network_.ties(w.slots[j + kPrefetchRows])) __builtin_prefetch(&st_.emitted[n]);
        prospect_node(w.slots[j], w.ids[j], w.u_first[j], sat_rng, acc);
      }
    });
  }

  [[nodiscard]] bool is_prospect_somewhere(std::uint32_t s) const {
    bool any = false;
    for (std::size_t l = 0; l < K; ++l) any |= st_.status[s * K + l] == Status::prospect;  // inert lanes never are
    return any;
  }

  void prospect_node(std::uint32_t s, std::uint32_t id, double u, const RandomStream& sat_rng, LaneSums& acc) {
    // Four independent sums per lane: the loads overlap instead of queueing
    // behind one long chain of dependent additions.
    // Every lane at once (the lane loops have a fixed length K: vector adds).
    double x_strong[K] = {}, x_weak[K] = {}, x_neg_strong[K] = {}, x_neg_weak[K] = {};
    for (std::uint32_t n : network_.strong(s)) {
      const auto& e = st_.emitted[n];
      for (std::size_t l = 0; l < K; ++l) x_strong[l] += e.pos[l], x_neg_strong[l] += e.neg[l];
    }
    for (std::uint32_t n : network_.weak(s)) {
      const auto& e = st_.emitted[n];
      for (std::size_t l = 0; l < K; ++l) x_weak[l] += e.pos[l], x_neg_weak[l] += e.neg[l];
    }
    std::optional<float> S0;  // the node's own initial satisfaction, drawn once
    for (std::size_t l = 0; l < K_; ++l) {
      const std::size_t i = s * K + l;
      if (st_.status[i] != Status::prospect) continue;
      if (u >= proc::adoption_bound(rc_.adoption, x_strong[l], x_weak[l])) continue;  // adopts in no lane: exact
      const auto odds = proc::adoption_odds(rc_.adoption, x_strong[l], x_weak[l], x_neg_strong[l] + x_neg_weak[l]);
      const proc::Adoption a = proc::adopts(u, odds);
      if (a == proc::Adoption::none) continue;
      auto& v = acc.lane[l].v;
      v[kAcquired] += 1;
      if (a == proc::Adoption::referred) v[kAcquiredReferred] += 1;
      if (!S0) S0 = static_cast<float>(initial_satisfaction(sc_.segments[st_.segment[s]], sat_rng, id));
      st_.status[i] = Status::active;
      st_.tenure[i] = 0;
      st_.S[i] = *S0;
      count_active_at_end(s, i, acc.lane[l]);
    }
  }

  // The end-of-month stocks (MODEL.md metrics): counted where a customer's
  // month ends, in the customers' pass for those who stay and in the
  // prospects' pass for adopters, so no third pass over the nodes is needed.
  void count_active_at_end(std::uint32_t s, std::size_t i, MonthSums& ms) const {
    ms.v[kActive] += 1;
    if (s < N_) ms.v[kCohortActive] += 1;
    ms.reported_satisfaction += std::min(1.0f, st_.S[i] + st_.X[i]);
  }

  // The month's counts for calibration targets (band and segment), into lane l's run.
  void record_counts(const LaneSums& month, std::size_t l, std::uint32_t t, RunResult& out) const {
    const MonthSums& ms = month.lane[l];
    for (int b = 0; b < kBands; ++b) {
      out.band_failures[b] += static_cast<std::int64_t>(ms.band_failures[b]);
      out.band_complaints[b] += static_cast<std::int64_t>(ms.band_complaints[b]);
    }
    const std::size_t S = sc_.segments.size();
    if (month.segment.empty()) return;
    for (std::size_t s = 0; s < S; ++s) {
      out.segment_churned[s * (out.months + 1) + t] = static_cast<std::int64_t>(month.segment[(l * S + s) * 2]);
      out.segment_active_start[s * (out.months + 1) + t] = static_cast<std::int64_t>(month.segment[(l * S + s) * 2 + 1]);
    }
  }

  // The month's derived metrics, its series entry, and the quality for next month.
  void close_month(MonthSums& month, std::size_t l, std::uint32_t t, RunResult& out) {
    auto& v = month.v;
    const Policy& pol = *lanes_[l].pc->policy;
    LOYALSIM_INVARIANT(v[kFailures] == v[kComplaints] + v[kSilentFailures] + v[kProactiveRecoveries], "failures split");
    const double discount = proc::discount_factor(m_.discount_rate_annual, t);
    v[kMargin] = v[kRevenue] * m_.margin;
    v[kProgrammeCost] = pol.cost_per_customer_month * month.active_at_start;
    v[kAcquisitionCost] = m_.acquisition_cost * (v[kAcquired] - v[kAcquiredReferred]);
    v[kMeanSatisfaction] =
        v[kActive] > 0 ? month.reported_satisfaction / v[kActive] : std::numeric_limits<double>::quiet_NaN();
    v[kQuality] = quality_[l];
    v[kDiscountedMargin] = v[kMargin] * discount;
    v[kNetValue] = (v[kMargin] - v[kRecoveryCost] - v[kProgrammeCost] - v[kAcquisitionCost]) * discount;
#if defined(LOYALSIM_CHECKED)
    for (int m = 0; m < kMetricCount; ++m)  // margins and net value may be negative; nothing else may
      LOYALSIM_INVARIANT(m == kMargin || m == kDiscountedMargin || m == kNetValue || !(v[m] < 0),
                         "a count, amount or share is negative");
    LOYALSIM_INVARIANT(v[kAcquiredReferred] <= v[kAcquired] && v[kCohortActive] <= v[kActive],
                       "subsets no larger than their sets");
    LOYALSIM_INVARIANT(t == 1 || v[kActive] == out.at(kActive, t - 1) - v[kChurned] + v[kAcquired],
                       "customers conserved: active = last month's - churned + acquired");
#endif
    for (int m = 0; m < kMetricCount; ++m) out.series[static_cast<std::size_t>(m) * (out.months + 1) + t] = v[m];
    // Fixed root causes raise quality for everyone, from next month.
    quality_[l] = proc::next_quality(m_, quality_[l], v[kRootCauseFixes], N_);
  }

  // Stylised-fact cohorts and quintile retention of lane l (docs/model.md, facts).
  void fact_cohorts(std::size_t l, const std::vector<std::uint8_t>& quintile, RunResult& out) const {
    const std::uint32_t T = sc_.horizon_months;
    for (std::uint32_t s = 0; s < nodes_; ++s) {
      const std::size_t i = s * K + l;
      const std::uint32_t ff = st_.first_fail_month[i], churn = st_.churn_month[i];
      auto retained_after = [&](std::uint32_t month) { return churn == 0 || churn > month; };
      if (ff >= 1 && ff + 12 <= T) {
        ++out.fact_count[st_.first_fail_cell[i]];
        if (retained_after(ff + 12)) ++out.fact_retained[st_.first_fail_cell[i]];
      }
      if (s < N_ && ff >= 1) ++out.first_failures[ff];
      if (s >= N_ || T < 12) continue;
      ++out.quintile_count[quintile[s]];
      if (retained_after(12)) ++out.quintile_retained[quintile[s]];
      if (ff == 0 || ff > 12) {
        const bool kept = retained_after(12);
        for (int band = 0; band < kBands; ++band) {
          ++out.fact_count[kReference * kBands + band];
          if (kept) ++out.fact_retained[kReference * kBands + band];
        }
      }
    }
  }

  const Scenario& sc_;
  const ModelParams& m_;
  const WomParams& wom_;
  const RunConstants rc_;
  const std::uint64_t seed_;
  const std::uint32_t rep_;
  const engine::TieGraph& network_;
  const std::span<const std::uint32_t> ids_;  // node id of each storage slot (empty: the identity)
  const int threads_;
  const std::uint32_t N_, nodes_;
  const std::size_t K_;
  State<K> st_;
  PolicyConstants baseline_;
  std::vector<PolicyConstants> own_;
  std::vector<double> quality_;  // Q of each lane
  std::vector<LaneMonth> lanes_;
};

}  // namespace

namespace {
engine::SmallWorldSpec network_spec(const Scenario& sc) {
  engine::SmallWorldSpec spec;
  spec.nodes = static_cast<std::uint32_t>(sc.population.customers + sc.population.prospects);
  spec.ring_neighbours = sc.wom.strong_ties;
  spec.random_ties = sc.wom.weak_ties;
  spec.rewire = sc.wom.rewire;
  return spec;
}
}  // namespace

engine::TieGraph build_network(const Scenario& sc, std::uint64_t seed, std::uint32_t replication,
                               int threads) {
  return engine::build_small_world(network_spec(sc), engine::RandomStream(seed, replication, 0, kNetworkDraw),
                                   threads);
}

engine::RingOrderNetwork build_ring_network(const Scenario& sc, std::uint64_t seed, std::uint32_t replication,
                                            int threads) {
  const std::uint32_t customers[] = {static_cast<std::uint32_t>(sc.population.customers)};
  return engine::build_small_world_ring_order(
      network_spec(sc), engine::RandomStream(seed, replication, 0, kNetworkDraw), threads, customers);
}

std::uint64_t run_state_bytes(const Scenario& sc, std::size_t lanes) {
  return (kBytesPerNodeShared + kBytesPerNodeLane * lanes) * (sc.population.customers + sc.population.prospects);
}

std::size_t max_lanes() { return kMaxLanes; }

std::vector<RunResult> simulate_policies(const Scenario& sc, std::span<const std::size_t> policies, std::uint64_t seed,
                                         std::uint32_t replication, const engine::TieGraph& network, int threads,
                                         const std::function<void()>& on_month) {
  std::vector<RunResult> out;
  out.reserve(policies.size());
  for (std::size_t first = 0; first < policies.size(); first += kMaxLanes) {
    const auto batch = policies.subspan(first, std::min(kMaxLanes, policies.size() - first));
    auto pass = [&]<std::size_t K>() { return Kernel<K>(sc, batch, seed, replication, network, {}, threads).run(on_month); };
    const std::size_t width = std::bit_ceil(batch.size());
    auto runs = width == 1 ? pass.operator()<1>() : width == 2 ? pass.operator()<2>() : width == 4 ? pass.operator()<4>() : pass.operator()<8>();
    for (auto& r : runs) out.push_back(std::move(r));
  }
  return out;
}

RunResult simulate(const Scenario& sc, std::size_t policy_index, std::uint64_t seed, std::uint32_t replication,
                   const engine::TieGraph& network, int threads, const std::function<void()>& on_month) {
  const std::size_t one[] = {policy_index};
  return std::move(simulate_policies(sc, one, seed, replication, network, threads, on_month).front());
}

}  // namespace loyalsim::srp1
