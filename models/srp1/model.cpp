#include "models/srp1/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/parallel.hpp"
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
      : log_repeat_damping(std::log(sc.model.repeat_damping)), adoption(sc.wom) {
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
        log1m_fcr(std::log1p(-p.first_contact_resolution)) {}
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

// Per-node state: shared by the lanes (segment), and per lane, stored with
// the lane index fastest (node n, lane l at n * K + l) so one node's lanes sit
// together. Floats hold the continuous states: their 24-bit precision is far
// below the model's noise and halves memory traffic.
struct State {
  struct Emission {
    float pos, neg;  // this month's messages / degree: what each of the node's ties carries
  };
  State(std::size_t nodes, std::size_t lanes)
      : K(lanes), segment(nodes), status(nodes * lanes), fails(nodes * lanes), last_cause(nodes * lanes, kNoCause),
        bad(nodes * lanes), first_fail_cell(nodes * lanes), tenure(nodes * lanes), first_fail_month(nodes * lanes),
        churn_month(nodes * lanes), S(nodes * lanes), X(nodes * lanes), spike(nodes * lanes),
        emitted(nodes * lanes) {}
  std::size_t K;
  std::vector<std::uint8_t> segment;
  std::vector<Status> status;
  std::vector<std::uint8_t> fails, last_cause, bad, first_fail_cell;
  std::vector<std::uint16_t> tenure, first_fail_month, churn_month;
  std::vector<float> S, X, spike;
  std::vector<Emission> emitted;
  // Lane 0's state copied to every other lane (after the shared warm-up).
  void broadcast_lane0() {
    for (std::size_t n = 0; n < segment.size(); ++n)
      for (std::size_t l = 1; l < K; ++l) {
        const std::size_t a = n * K, b = n * K + l;
        status[b] = status[a], fails[b] = fails[a], last_cause[b] = last_cause[a], bad[b] = bad[a];
        first_fail_cell[b] = first_fail_cell[a], tenure[b] = tenure[a], first_fail_month[b] = first_fail_month[a];
        churn_month[b] = churn_month[a], S[b] = S[a], X[b] = X[a], spike[b] = spike[a];
      }
  }
};
constexpr std::uint64_t kBytesPerNodeLane = 5 * 1 + 1 + 3 * 2 + 3 * 4 + sizeof(State::Emission);
constexpr std::uint64_t kBytesPerNodeShared = 1;
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
  double log1m_u_delay;  // log(1 - u): the delay is -mean times it
  double log_u_contacts;
  double z;            // the disconfirmation noise, standard normal
};

// The month's random streams: one uniform per (purpose, node).
struct MonthStreams {
  RandomStream fail, severity, cause, complaint, delay, contacts, noise, fix, churn, detection, replace;
  MonthStreams(std::uint64_t seed, std::uint32_t rep, std::uint32_t month)
      : fail(seed, rep, month, kFailureDraw), severity(seed, rep, month, kSeverityDraw),
        cause(seed, rep, month, kCauseDraw), complaint(seed, rep, month, kComplaintDraw),
        delay(seed, rep, month, kDelayDraw), contacts(seed, rep, month, kContactsDraw),
        noise(seed, rep, month, kNoiseDraw), fix(seed, rep, month, kRootCauseFixDraw),
        churn(seed, rep, month, kChurnDraw), detection(seed, rep, month, kDetectionDraw),
        replace(seed, rep, month, kInitialSatisfactionDraw) {}
  [[nodiscard]] FailureDraws failure(std::uint32_t id, const ModelParams& m, const RunConstants& rc) const {
    FailureDraws f;
    f.s = proc::severity(severity.uniform(id), m.severity_a, m.severity_b);
    f.band = proc::severity_band(f.s, m.major_threshold);
    f.cause = proc::cause_of(cause.uniform(id), rc.cause_cumulative);
    f.blame = proc::firm_to_blame(f.cause);
    f.L = proc::loss(m, f.s, f.cause);
    f.u_complaint = complaint.uniform(id);
    f.u_detection = detection.uniform(id);
    f.u_fix = fix.uniform(id);
    f.log1m_u_delay = std::log1p(-delay.uniform(id));
    f.log_u_contacts = std::log(contacts.uniform(id));
    f.z = engine::inverse_normal_cdf(noise.uniform(id));
    return f;
  }
};

// What one lane does in a month: the policy in effect and its constants, the
// failure probability per segment (from the lane's quality).
struct LaneMonth {
  const PolicyConstants* pc;
  std::vector<double> p_fail;
};

// Initial satisfaction of node n from its month-0 draw (also when a prospect adopts).
double initial_satisfaction(const Segment& seg, const RandomStream& rng, std::uint32_t n) {
  return proc::initial_satisfaction(seg, engine::inverse_normal_cdf(rng.uniform(n)));
}

// Quintile (0 = least satisfied) of each initial customer's reported
// satisfaction at month 0 (lane 0: month 0 is the same in every lane): ranks
// by (satisfaction, node id), so ties split deterministically and each
// quintile holds N/5 customers (+-1).
std::vector<std::uint8_t> satisfaction_quintiles(const State& st, std::uint32_t N) {
  std::vector<std::pair<float, std::uint32_t>> order(N);
  for (std::uint32_t n = 0; n < N; ++n) order[n] = {std::min(1.0f, st.S[n * st.K] + st.X[n * st.K]), n};
  std::sort(order.begin(), order.end());
  std::vector<std::uint8_t> quintile(N);
  for (std::uint32_t rank = 0; rank < N; ++rank)
    quintile[order[rank].second] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(rank) * kQuintiles / N);
  return quintile;
}

// The K lanes of one replication, month by month.
class Kernel {
 public:
  Kernel(const Scenario& sc, std::span<const std::size_t> policies, std::uint64_t seed, std::uint32_t rep,
         const engine::TieGraph& network, int threads)
      : sc_(sc), m_(sc.model), wom_(sc.wom), rc_(sc), seed_(seed), rep_(rep), network_(network), threads_(threads),
        N_(static_cast<std::uint32_t>(sc.population.customers)),
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
    initial_state();
    warm_up();
    record_month_zero(out);
    const std::vector<std::uint8_t> quintile = satisfaction_quintiles(st_, N_);
    for (std::uint32_t t = 1; t <= T; ++t) {
      for (std::size_t l = 0; l < K_; ++l) lanes_[l].pc = t >= own_[l].policy->start_month ? &own_[l] : &baseline_;
      set_failure_probabilities();
      LaneSums month = customers_month(t, t, K_);
      const LaneSums end = prospects_month(t);
      for (std::size_t l = 0; l < K_; ++l) {
        MonthSums& ms = month.lane[l];
        const MonthSums& e = end.lane[l];
        for (const Metric m : {kActive, kCohortActive, kAcquired, kAcquiredReferred}) ms.v[m] = e.v[m];
        ms.reported_satisfaction = e.reported_satisfaction;
        record_counts(month, l, t, out[l]);
        close_month(ms, l, t, out[l]);
      }
      if (on_month)
        for (std::size_t l = 0; l < K_; ++l) on_month();
    }
    for (std::size_t l = 0; l < K_; ++l) fact_cohorts(l, quintile, out[l]);
    return out;
  }

 private:
  // Month 0: segments, tenure, satisfaction. Every lane starts the same.
  void initial_state() {
    const RandomStream seg_rng(seed_, rep_, 0, kSegmentDraw), ten_rng(seed_, rep_, 0, kTenureDraw),
        sat_rng(seed_, rep_, 0, kInitialSatisfactionDraw);
    engine::block_reduce<MonthSums>(nodes_, threads_, [&](std::uint32_t b, std::uint32_t e, MonthSums&) {
      for (std::uint32_t n = b; n < e; ++n) {
        st_.segment[n] = rc_.segment_of(seg_rng.uniform(n));
        if (n >= N_) continue;
        const auto tenure = static_cast<std::uint16_t>(ten_rng.uniform(n) * sc_.population.initial_tenure_max);
        const auto S = static_cast<float>(initial_satisfaction(sc_.segments[st_.segment[n]], sat_rng, n));
        for (std::size_t l = 0; l < K_; ++l) {
          st_.status[n * K_ + l] = Status::active;
          st_.tenure[n * K_ + l] = tenure;
          st_.S[n * K_ + l] = S;
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
      for (std::uint32_t n = b; n < e; ++n) acc.reported_satisfaction += std::min(1.0f, st_.S[n * K_] + st_.X[n * K_]);
    });
    for (auto& r : out) {
      auto at = [&](Metric m) -> double& { return r.series[static_cast<std::size_t>(m) * (r.months + 1)]; };
      at(kActive) = N_;
      at(kCohortActive) = N_;
      at(kMeanSatisfaction) = initial.reported_satisfaction / N_;
      at(kQuality) = 1.0;
    }
  }

  void set_failure_probabilities() {
    for (std::size_t l = 0; l < K_; ++l)
      for (std::size_t s = 0; s < sc_.segments.size(); ++s)
        lanes_[l].p_fail[s] = proc::failure_probability(sc_.segments[s].failure_rate, quality_[l]);
  }

  // Phase 1: every customer active at the start of the month, in the first
  // `lanes` lanes. `draw_month` is the draws' month counter; `t` > 0 records
  // facts and churn months (0 in the warm-up, where a churner is replaced at once).
  LaneSums customers_month(std::uint32_t draw_month, std::uint32_t t, std::size_t lanes) {
    const MonthStreams rng(seed_, rep_, draw_month);
    return engine::block_reduce<LaneSums>(nodes_, threads_, [&](std::uint32_t b, std::uint32_t e, LaneSums& acc) {
      for (std::uint32_t n = b; n < e; ++n) customer_node(n, t, lanes, rng, acc);
    });
  }

  void customer_node(std::uint32_t n, std::uint32_t t, std::size_t lanes, const MonthStreams& rng, LaneSums& acc) {
    const std::size_t base = n * K_;
    bool any_active = false;
    for (std::size_t l = 0; l < lanes; ++l) any_active |= st_.status[base + l] == Status::active;
    if (!any_active) {
      for (std::size_t l = 0; l < lanes; ++l) st_.emitted[base + l] = {0.0f, 0.0f};
      return;
    }
    const Segment& seg = sc_.segments[st_.segment[n]];
    const double inv_deg = 1.0 / std::max<std::uint32_t>(1, network_.degree(n));
    const double u_fail = rng.fail.uniform(n);
    std::optional<FailureDraws> failure;  // drawn once, for the first lane that fails
    std::optional<double> u_churn;
    for (std::size_t l = 0; l < lanes; ++l) {
      const std::size_t i = base + l;
      if (st_.status[i] != Status::active) {
        st_.emitted[i] = {0.0f, 0.0f};
        continue;
      }
      MonthSums& ms = acc.lane[l];
      auto& v = ms.v;
      ms.active_at_start += 1;
      const double w = seg.wom_rate;
      double S = st_.S[i], X = st_.X[i], k = st_.spike[i];
      double pos = 0.0, neg = 0.0;

      // 1-2. Failure and, if one occurs, complaint (or detection) and recovery.
      if (u_fail < lanes_[l].p_fail[st_.segment[n]]) {
        if (!failure) failure = rng.failure(n, m_, rc_);
        recover_failure(*failure, seg, lanes_[l], i, t, S, X, k, pos, neg, ms);
      }
      // 3. Relaxation. 4. Churn.
      proc::relax(m_, seg, S, X);
      const double h = proc::churn_hazard(m_, seg, S, k, rc_.tenure_factor[st_.tenure[i]]);
      k = proc::decayed_spike(m_, k);
      if (!u_churn) u_churn = rng.churn.uniform(n);
      const bool churned = proc::churns(*u_churn, h);
      if (t > 0) acc.count_segment(l, st_.segment[n], sc_.segments.size(), churned);
      if (churned) {
        neg += wom_.churned * w;
        v[kChurned] += 1;
        if (t == 0) {  // warm-up: replaced at once by a new customer at the same node
          st_.tenure[i] = 0;
          S = initial_satisfaction(seg, rng.replace, n);
          X = 0, k = 0;
          st_.fails[i] = 0, st_.bad[i] = 0, st_.last_cause[i] = kNoCause;
        } else {
          st_.status[i] = Status::churned;
          st_.churn_month[i] = static_cast<std::uint16_t>(t);
        }
      } else {
        // 5. Spend. 6. Ambient word of mouth.
        v[kRevenue] += proc::spend(m_, seg, S);
        st_.tenure[i] = rc_.next_tenure(st_.tenure[i]);
        pos += proc::ambient_positive(wom_, w, S);
        neg += proc::ambient_negative(wom_, w, S);
      }
      LOYALSIM_INVARIANT(S >= 0.0 && S <= 1.0 && X >= 0.0 && k >= 0.0, "satisfaction state out of range");
      st_.S[i] = static_cast<float>(S);
      st_.X[i] = static_cast<float>(X);
      st_.spike[i] = static_cast<float>(k);
      v[kWomPositive] += pos;
      v[kWomNegative] += neg;
      st_.emitted[i] = {static_cast<float>(pos * inv_deg), static_cast<float>(neg * inv_deg)};
    }
  }

  // A failure of the customer in lane slot i: silent, or a complaint or a
  // proactive detection and the recovery that follows (MODEL.md step 2).
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
      const double delay = pol.response_days > 0 ? -pol.response_days * f.log1m_u_delay : 0.0;
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

  // Phase 2: network exposure and adoption for prospects (a sparse product
  // over the tie lists), then the end-of-month stocks.
  LaneSums prospects_month(std::uint32_t t) {
    const RandomStream r_adopt(seed_, rep_, t, kAdoptionDraw), sat_rng(seed_, rep_, 0, kInitialSatisfactionDraw);
    return engine::block_reduce<LaneSums>(nodes_, threads_, [&](std::uint32_t b, std::uint32_t e, LaneSums& acc) {
      for (std::uint32_t n = b; n < e; ++n) {
        // Prefetch the emissions a prospect a few rows ahead will read: its
        // ties are random nodes, so the reads miss the cache; issued early,
        // they arrive while this row is being computed.
        if (n + kPrefetchRows < e && is_prospect_somewhere(n + kPrefetchRows))
          for (std::uint32_t j : network_.ties(n + kPrefetchRows)) __builtin_prefetch(&st_.emitted[j * K_]);
        if (is_prospect_somewhere(n)) prospect_node(n, r_adopt, sat_rng, acc);
        for (std::size_t l = 0; l < K_; ++l) {
          const std::size_t i = n * K_ + l;
          if (st_.status[i] != Status::active) continue;
          auto& ms = acc.lane[l];
          ms.v[kActive] += 1;
          if (n < N_) ms.v[kCohortActive] += 1;
          ms.reported_satisfaction += std::min(1.0f, st_.S[i] + st_.X[i]);
        }
      }
    });
  }

  [[nodiscard]] bool is_prospect_somewhere(std::uint32_t n) const {
    for (std::size_t l = 0; l < K_; ++l)
      if (st_.status[n * K_ + l] == Status::prospect) return true;
    return false;
  }

  void prospect_node(std::uint32_t n, const RandomStream& r_adopt, const RandomStream& sat_rng, LaneSums& acc) {
    // Four independent sums per lane: the loads overlap instead of queueing
    // behind one long chain of dependent additions.
    std::array<double, kMaxLanes> x_strong{}, x_weak{}, x_neg_strong{}, x_neg_weak{};
    for (std::uint32_t j : network_.strong(n))
      for (std::size_t l = 0; l < K_; ++l) {
        x_strong[l] += st_.emitted[j * K_ + l].pos;
        x_neg_strong[l] += st_.emitted[j * K_ + l].neg;
      }
    for (std::uint32_t j : network_.weak(n))
      for (std::size_t l = 0; l < K_; ++l) {
        x_weak[l] += st_.emitted[j * K_ + l].pos;
        x_neg_weak[l] += st_.emitted[j * K_ + l].neg;
      }
    const double u = r_adopt.uniform(n);
    std::optional<float> S0;  // the node's own initial satisfaction, drawn once
    for (std::size_t l = 0; l < K_; ++l) {
      const std::size_t i = n * K_ + l;
      if (st_.status[i] != Status::prospect) continue;
      const auto odds = proc::adoption_odds(rc_.adoption, x_strong[l], x_weak[l], x_neg_strong[l] + x_neg_weak[l]);
      const proc::Adoption a = proc::adopts(u, odds);
      if (a == proc::Adoption::none) continue;
      auto& v = acc.lane[l].v;
      v[kAcquired] += 1;
      if (a == proc::Adoption::referred) v[kAcquiredReferred] += 1;
      if (!S0) S0 = static_cast<float>(initial_satisfaction(sc_.segments[st_.segment[n]], sat_rng, n));
      st_.status[i] = Status::active;
      st_.tenure[i] = 0;
      st_.S[i] = *S0;
    }
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

  // Stylised-fact cohorts and quintile retention of lane l (MODEL.md facts).
  void fact_cohorts(std::size_t l, const std::vector<std::uint8_t>& quintile, RunResult& out) const {
    const std::uint32_t T = sc_.horizon_months;
    for (std::uint32_t n = 0; n < nodes_; ++n) {
      const std::size_t i = n * K_ + l;
      const std::uint32_t ff = st_.first_fail_month[i], churn = st_.churn_month[i];
      auto retained_after = [&](std::uint32_t month) { return churn == 0 || churn > month; };
      if (ff >= 1 && ff + 12 <= T) {
        ++out.fact_count[st_.first_fail_cell[i]];
        if (retained_after(ff + 12)) ++out.fact_retained[st_.first_fail_cell[i]];
      }
      if (n < N_ && ff >= 1) ++out.first_failures[ff];
      if (n >= N_ || T < 12) continue;
      ++out.quintile_count[quintile[n]];
      if (retained_after(12)) ++out.quintile_retained[quintile[n]];
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
  const int threads_;
  const std::uint32_t N_, nodes_;
  const std::size_t K_;
  State st_;
  PolicyConstants baseline_;
  std::vector<PolicyConstants> own_;
  std::vector<double> quality_;  // Q of each lane
  std::vector<LaneMonth> lanes_;
};

}  // namespace

engine::TieGraph build_network(const Scenario& sc, std::uint64_t seed, std::uint32_t replication, int threads) {
  engine::SmallWorldSpec spec;
  spec.nodes = static_cast<std::uint32_t>(sc.population.customers + sc.population.prospects);
  spec.ring_neighbours = sc.wom.strong_ties;
  spec.random_ties = sc.wom.weak_ties;
  spec.rewire = sc.wom.rewire;
  return engine::build_small_world(spec, engine::RandomStream(seed, replication, 0, kNetworkDraw), threads);
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
    for (auto& r : Kernel(sc, batch, seed, replication, network, threads).run(on_month)) out.push_back(std::move(r));
  }
  return out;
}

RunResult simulate(const Scenario& sc, std::size_t policy_index, std::uint64_t seed, std::uint32_t replication,
                   const engine::TieGraph& network, int threads, const std::function<void()>& on_month) {
  const std::size_t one[] = {policy_index};
  return std::move(simulate_policies(sc, one, seed, replication, network, threads, on_month).front());
}

}  // namespace loyalsim::srp1
