#include "models/srp1/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/parallel.hpp"
#include "engine/random.hpp"

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

enum Status : std::uint8_t { kProspect = 0, kActiveStatus = 1, kChurnedStatus = 2 };
constexpr std::uint8_t kNoCause = 255;

// Per-node state of one run, structure of arrays: the month loop streams
// through a few arrays at a time. Floats hold the continuous states (their
// 24-bit precision is far below the model's noise) to halve memory traffic.
struct Nodes {
  explicit Nodes(std::size_t n)
      : status(n), segment(n), fails(n), last_cause(n, kNoCause), bad(n), first_fail_cell(n),
        tenure(n), first_fail_month(n), churn_month(n), S(n), X(n), spike(n), emitted(n) {}
  std::vector<std::uint8_t> status, segment, fails, last_cause, bad, first_fail_cell;
  std::vector<std::uint16_t> tenure, first_fail_month, churn_month;
  std::vector<float> S, X, spike;
  // This month's emitted messages / degree: what each of the node's ties
  // carries. Positive and negative side by side, so the exposure phase's
  // random read of a neighbour touches one cache line, not two.
  struct Emission {
    float pos, neg;
  };
  std::vector<Emission> emitted;
};
// Rows ahead of the exposure loop whose neighbours' emissions are prefetched.
constexpr std::uint32_t kPrefetchRows = 16;
constexpr std::uint64_t kBytesPerNode = 6 * 1 + 3 * 2 + 5 * 4;

// One month's sums: one slot per metric, summed over fixed blocks.
struct MonthSums {
  std::array<double, kMetricCount> v{};
  double reported_satisfaction = 0.0;
  double active_at_start = 0.0;  // customers active at the start of the month (programme cost)
  MonthSums& operator+=(const MonthSums& o) {
    for (int i = 0; i < kMetricCount; ++i) v[i] += o.v[i];
    reported_satisfaction += o.reported_satisfaction;
    active_at_start += o.active_at_start;
    return *this;
  }
};

inline double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double clip01(double x) { return std::min(1.0, std::max(0.0, x)); }
// base^x where base is given as its log (may be -inf); base^0 = 1 even for base 0.
inline double pow_from_log(double log_base, double x) { return x > 0.0 ? std::exp(x * log_base) : 1.0; }
// log(base^x) with the same convention: 0 when x = 0, whatever the base.
inline double log_power(double log_base, double x) { return x > 0.0 ? x * log_base : 0.0; }
// exp(x), skipping the call in the common case x = 0 (no exposure of that kind).
inline double exp_or_one(double x) { return x == 0.0 ? 1.0 : std::exp(x); }

// Distributive justice of a compensation ratio r (F9).
double distributive_justice(double r, double penalty) {
  if (r <= 1.0) return std::sqrt(r);
  if (r <= 1.5) return 1.0;
  return std::max(0.0, 1.0 - penalty * (r - 1.5));
}

// Everything derived once per run from the parameters.
struct Derived {
  std::vector<double> seg_cum_share;   // cumulative, normalised
  std::array<double, kCauses> cause_cum{};
  double justice_sum = 1.0, interactional = 0.0, distributive = 0.0;
  double wj_d = 0, wj_i = 0, wj_p = 0;
  std::vector<double> tenure_factor;   // (1 + tenure)^(-churn_tenure)
  double log1m_deterrence = 0, log1m_strong = 0, log1m_weak = 0, one_minus_adv = 1;

  Derived(const Scenario& sc, const Policy& pol) {
    const auto& m = sc.model;
    double total = 0;
    for (const auto& s : sc.segments) total += s.share;
    double acc = 0;
    for (const auto& s : sc.segments) seg_cum_share.push_back(acc += s.share / total);
    seg_cum_share.back() = 1.0;
    double ctotal = 0;
    for (double c : m.cause_share) ctotal += c;
    double cacc = 0;
    for (int c = 0; c < kCauses; ++c) cause_cum[c] = (cacc += m.cause_share[c] / ctotal);
    cause_cum[kCauses - 1] = 1.0;

    const auto& iw = m.interactional_weights;
    const double iw_sum = iw.apology + iw.empathy + iw.explanation + iw.follow_up + iw.gesture;
    interactional = (iw.apology * pol.apology + iw.empathy * pol.empathy + iw.explanation * pol.explanation +
                     iw.follow_up * pol.follow_up + iw.gesture * pol.gesture) / iw_sum;
    distributive = distributive_justice(pol.compensation, m.over_compensation_penalty);
    wj_d = m.justice_weights.distributive;
    wj_i = m.justice_weights.interactional;
    wj_p = m.justice_weights.procedural;
    justice_sum = wj_d + wj_i + wj_p;

    const std::uint32_t max_tenure = sc.population.initial_tenure_max + sc.warmup_months + sc.horizon_months + 1;
    tenure_factor.resize(max_tenure + 1);
    for (std::uint32_t t = 0; t <= max_tenure; ++t) tenure_factor[t] = std::pow(1.0 + t, -m.churn_tenure);

    log1m_deterrence = std::log1p(-sc.wom.deterrence);
    log1m_strong = std::log1p(-sc.wom.strong_tie_effect);
    log1m_weak = std::log1p(-sc.wom.weak_tie_effect);
    one_minus_adv = 1.0 - sc.wom.advertising;
  }

  [[nodiscard]] std::uint8_t segment_of(double u) const {
    std::size_t i = 0;
    while (i + 1 < seg_cum_share.size() && u >= seg_cum_share[i]) ++i;
    return static_cast<std::uint8_t>(i);
  }
  [[nodiscard]] std::uint8_t cause_of(double u) const {
    int c = 0;
    while (c + 1 < kCauses && u >= cause_cum[c]) ++c;
    return static_cast<std::uint8_t>(c);
  }
};

// Initial satisfaction of node n (also used when a prospect adopts).
double initial_satisfaction(const Segment& seg, const engine::RandomStream& rng, std::uint32_t n) {
  const double z = engine::inverse_normal_cdf(rng.uniform(n));
  return std::min(0.99, std::max(0.01, seg.satisfaction_mean + seg.satisfaction_sd * z));
}

// Quintile (0 = least satisfied) of each initial customer's reported
// satisfaction at month 0: ranks by (satisfaction, node id), so ties split
// deterministically and each quintile holds N/5 customers (+-1).
std::vector<std::uint8_t> satisfaction_quintiles(const Nodes& st, std::uint32_t N) {
  std::vector<std::pair<float, std::uint32_t>> order(N);
  for (std::uint32_t n = 0; n < N; ++n) order[n] = {std::min(1.0f, st.S[n] + st.X[n]), n};
  std::sort(order.begin(), order.end());
  std::vector<std::uint8_t> quintile(N);
  for (std::uint32_t rank = 0; rank < N; ++rank)
    quintile[order[rank].second] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(rank) * kQuintiles / N);
  return quintile;
}

}  // namespace

engine::TieGraph build_network(const Scenario& sc, std::uint64_t seed, std::uint32_t replication,
                               int threads) {
  engine::SmallWorldSpec spec;
  spec.nodes = static_cast<std::uint32_t>(sc.population.customers + sc.population.prospects);
  spec.ring_neighbours = sc.wom.strong_ties;
  spec.random_ties = sc.wom.weak_ties;
  spec.rewire = sc.wom.rewire;
  return engine::build_small_world(spec, engine::RandomStream(seed, replication, 0, kNetworkDraw), threads);
}

std::uint64_t run_state_bytes(const Scenario& sc) {
  return kBytesPerNode * (sc.population.customers + sc.population.prospects);
}

RunResult simulate(const Scenario& sc, std::size_t policy_index, std::uint64_t seed,
                   std::uint32_t replication, const engine::TieGraph& network, int threads,
                   const std::function<void()>& on_month) {
  using engine::RandomStream;
  const Policy& own = sc.policies.at(policy_index);
  const Policy& baseline = sc.policies.front();
  const ModelParams& mp = sc.model;
  const WomParams& wom = sc.wom;
  const auto N = static_cast<std::uint32_t>(sc.population.customers);
  const auto nodes = static_cast<std::uint32_t>(sc.population.customers + sc.population.prospects);
  const std::uint32_t T = sc.horizon_months;
  // Before its start month a policy is the baseline (1.1): the same path under common random numbers.
  const Derived d_own(sc, own), d_base(sc, baseline);
  const std::size_t n_seg = sc.segments.size();

  RunResult out;
  out.months = T;
  out.series.assign(static_cast<std::size_t>(kMetricCount) * (T + 1), 0.0);
  auto series = [&](Metric m, std::uint32_t t) -> double& {
    return out.series[static_cast<std::size_t>(m) * (T + 1) + t];
  };

  // ---- Month 0: segments, tenure, satisfaction ----
  Nodes st(nodes);
  {
    const RandomStream seg_rng(seed, replication, 0, kSegmentDraw);
    const RandomStream ten_rng(seed, replication, 0, kTenureDraw);
    const RandomStream sat_rng(seed, replication, 0, kInitialSatisfactionDraw);
    engine::block_reduce<MonthSums>(nodes, threads, [&](std::uint32_t b, std::uint32_t e, MonthSums&) {
      for (std::uint32_t n = b; n < e; ++n) {
        st.segment[n] = d_own.segment_of(seg_rng.uniform(n));
        if (n < N) {
          st.status[n] = kActiveStatus;
          st.tenure[n] = static_cast<std::uint16_t>(ten_rng.uniform(n) * sc.population.initial_tenure_max);
          st.S[n] = static_cast<float>(initial_satisfaction(sc.segments[st.segment[n]], sat_rng, n));
        }
      }
    });
  }
  const RandomStream sat_rng(seed, replication, 0, kInitialSatisfactionDraw);

  // Per-segment constants of the month loop.
  std::vector<double> p_fail(n_seg);
  double quality = 1.0;
  const double logb_damping = std::log(mp.repeat_damping);  // -inf when 0: damping^f = 0 for f > 0
  [[maybe_unused]] double churned_so_far = 0, acquired_so_far = 0;  // for the conservation invariant

  // Phase 1 of a month: every customer active at its start, under policy `pol`.
  // `draw_month` is the month counter of the draws; `t` > 0 records facts and
  // churn months (0 during the warm-up, when a churner is replaced at once).
  auto customers_month = [&](std::uint32_t draw_month, std::uint32_t t, const Policy& pol, const Derived& d) {
    for (std::size_t s = 0; s < n_seg; ++s) p_fail[s] = -std::expm1(-sc.segments[s].failure_rate * quality);
    const RandomStream r_fail(seed, replication, draw_month, kFailureDraw),
        r_sev(seed, replication, draw_month, kSeverityDraw), r_cause(seed, replication, draw_month, kCauseDraw),
        r_compl(seed, replication, draw_month, kComplaintDraw), r_delay(seed, replication, draw_month, kDelayDraw),
        r_contacts(seed, replication, draw_month, kContactsDraw), r_noise(seed, replication, draw_month, kNoiseDraw),
        r_fix(seed, replication, draw_month, kRootCauseFixDraw), r_churn(seed, replication, draw_month, kChurnDraw),
        r_detect(seed, replication, draw_month, kDetectionDraw),
        r_replace(seed, replication, draw_month, kInitialSatisfactionDraw);
    const double inv_justice = 1.0 / d.justice_sum;
    const bool warmup = t == 0;
    return engine::block_reduce<MonthSums>(nodes, threads, [&](std::uint32_t b, std::uint32_t e, MonthSums& acc) {
      auto& v = acc.v;
      for (std::uint32_t n = b; n < e; ++n) {
        if (st.status[n] != kActiveStatus) {
          st.emitted[n] = {0.0f, 0.0f};
          continue;
        }
        acc.active_at_start += 1;
        const Segment& seg = sc.segments[st.segment[n]];
        const double w = seg.wom_rate;
        double S = st.S[n], X = st.X[n], k = st.spike[n];
        double pos = 0.0, neg = 0.0;

        // 1-2. Failure and, if one occurs, complaint (or detection) and recovery.
        if (r_fail.uniform(n) < p_fail[st.segment[n]]) {
          v[kFailures] += 1;
          const double s = std::pow(-std::expm1(std::log1p(-r_sev.uniform(n)) / mp.severity_b), 1.0 / mp.severity_a);
          const int band = s >= mp.major_threshold ? 1 : 0;
          const std::uint8_t c = d.cause_of(r_cause.uniform(n));
          const bool blame = c != static_cast<std::uint8_t>(Cause::customer);
          const bool repeat = c == st.last_cause[n];
          const double L = mp.loss_weight * s * mp.cause_loss[c];
          const std::uint8_t f = st.fails[n];
          const double p_complain = logistic(mp.complaint_intercept + mp.complaint_severity * s +
                                             (blame ? mp.complaint_blame : 0.0) + seg.complaint_bias +
                                             mp.complaint_after_bad * st.bad[n] + pol.complaint_encouragement);
          const bool complained = r_compl.uniform(n) < p_complain;
          const bool detected = !complained && r_detect.uniform(n) < pol.proactive_detection;
          int fact_class;
          if (!complained && !detected) {  // silent failure
            S = std::max(0.0, S - L);
            k += mp.spike_silent * s;
            neg += wom.silent * w;
            v[kSilentFailures] += 1;
            fact_class = kSilent;
          } else {  // complaint or proactive detection -> recovery under the policy
            v[complained ? kComplaints : kProactiveRecoveries] += 1;
            const double delay = pol.response_days > 0 ? -pol.response_days * std::log1p(-r_delay.uniform(n)) : 0.0;
            double contacts = 1.0;
            if (pol.first_contact_resolution < 1.0) {
              const double extra = std::floor(std::log(r_contacts.uniform(n)) / std::log1p(-pol.first_contact_resolution));
              contacts = std::min(20.0, 1.0 + extra);
            }
            const double pj = std::exp(-delay / mp.speed_scale_days) * std::pow(contacts, -mp.contact_elasticity);
            const double perf = (d.wj_d * d.distributive + d.wj_i * d.interactional + d.wj_p * pj) * inv_justice;
            double expect = std::min(1.0, mp.expectation_base + mp.expectation_severity * s +
                                              mp.expectation_repeat * std::min<int>(f, 3));
            if (detected) expect -= mp.expectation_proactive;  // the firm came to the customer
            expect = std::max(0.0, expect);
            const double D = perf - expect + mp.disconfirmation_sd * engine::inverse_normal_cdf(r_noise.uniform(n));
            const bool satisfied = D >= 0.0;
            const double reported_before = std::min(1.0, S + X);
            double S_new;
            if (satisfied) {
              const double g = seg.recovery_responsiveness * pow_from_log(logb_damping, f) *
                               (repeat ? 1.0 - mp.stability_penalty : 1.0);
              S_new = clip01(S - L + mp.gain * D * g);
            } else {
              S_new = clip01(S - L - mp.double_deviation * std::fabs(D));
            }
            switch (mp.paradox_scope) {
              case ParadoxScope::behavioural: S = S_new; break;
              case ParadoxScope::satisfaction_only:
                if (S_new > S) X += S_new - S; else S = S_new;
                break;
              case ParadoxScope::none: S = std::min(S, S_new); break;
            }
            if (std::min(1.0, S + X) > reported_before) v[kParadoxEvents] += 1;
            if (satisfied) {
              k += mp.spike_recovered * s;
              pos += wom.complainant_satisfied * w;
              v[kRecoveriesSatisfied] += 1;
              fact_class = (delay <= mp.quick_days && contacts == 1.0) ? kResolvedQuick : kResolved;
            } else {
              k += mp.spike_unresolved * s;
              if (st.bad[n] < 255) ++st.bad[n];
              neg += wom.complainant_dissatisfied * w;
              v[kRecoveriesDissatisfied] += 1;
              fact_class = kUnresolved;
            }
            const double handling = pol.cost_per_contact * contacts;
            const double compensation = pol.compensation * s * mp.loss_value_months * seg.base_spend;
            v[kHandlingCost] += handling;
            v[kCompensationPaid] += compensation;
            v[kRecoveryCost] += handling + compensation + pol.gesture * pol.gesture_cost;
            if (blame && r_fix.uniform(n) < pol.root_cause_fix) v[kRootCauseFixes] += 1;
          }
          // Fact cohorts: the first failure of the horizon, whatever a warm-up held.
          if (!warmup && st.first_fail_month[n] == 0) {
            st.first_fail_month[n] = static_cast<std::uint16_t>(t);
            st.first_fail_cell[n] = static_cast<std::uint8_t>(fact_class * kBands + band);
          }
          if (f < 255) st.fails[n] = f + 1;
          st.last_cause[n] = c;
        }

        // 3. Relaxation towards the segment's mean; the attitudinal surplus decays.
        S += mp.relaxation * (seg.satisfaction_mean - S);
        X *= mp.surplus_decay;

        // 4. Churn.
        const double h = seg.churn_hazard * std::exp(mp.churn_satisfaction * (mp.satisfaction_ref - S)) *
                         (1.0 + k) * d.tenure_factor[st.tenure[n]];
        k *= mp.spike_decay;
        if (r_churn.uniform(n) < -std::expm1(-h)) {
          neg += wom.churned * w;
          v[kChurned] += 1;
          if (warmup) {  // replaced at once by a new customer at the same node (MODEL.md warm-up)
            st.tenure[n] = 0;
            S = initial_satisfaction(seg, r_replace, n);
            X = 0, k = 0;
            st.fails[n] = 0, st.bad[n] = 0, st.last_cause[n] = kNoCause;
          } else {
            st.status[n] = kChurnedStatus;
            st.churn_month[n] = static_cast<std::uint16_t>(t);
          }
        } else {
          // 5. Spend. 6. Ambient word of mouth.
          const double spend = seg.base_spend * std::max(0.05, 1.0 + mp.spend_slope * (S - mp.satisfaction_ref));
          v[kRevenue] += spend;
          st.tenure[n] = static_cast<std::uint16_t>(std::min<int>(st.tenure[n] + 1, d.tenure_factor.size() - 1));
          pos += wom.ambient_positive * w * std::max(0.0, (S - 0.5) / 0.5);
          neg += wom.ambient_negative * w * std::max(0.0, (0.5 - S) / 0.5);
        }
        LOYALSIM_INVARIANT(S >= 0.0 && S <= 1.0 && X >= 0.0 && k >= 0.0, "satisfaction state out of range");
        st.S[n] = static_cast<float>(S);
        st.X[n] = static_cast<float>(X);
        st.spike[n] = static_cast<float>(k);
        v[kWomPositive] += pos;
        v[kWomNegative] += neg;
        // What each tie carries: the messages split evenly over the node's ties.
        const double inv_deg = 1.0 / std::max<std::uint32_t>(1, network.degree(n));
        st.emitted[n] = {static_cast<float>(pos * inv_deg), static_cast<float>(neg * inv_deg)};
      }
    });
  };

  // ---- Warm-up (1.1): the initial customers live W months under the baseline, unrecorded ----
  for (std::uint32_t w = 1; w <= sc.warmup_months; ++w) {
    const MonthSums month = customers_month(kWarmupMonthBase + w, 0, baseline, d_base);
    quality = std::max(mp.quality_floor, quality * std::exp(-mp.fix_effect * month.v[kRootCauseFixes] / N));
  }
  quality = 1.0;
  {
    const MonthSums initial = engine::block_reduce<MonthSums>(N, threads, [&](std::uint32_t b, std::uint32_t e, MonthSums& acc) {
      for (std::uint32_t n = b; n < e; ++n) acc.reported_satisfaction += std::min(1.0f, st.S[n] + st.X[n]);
    });
    series(kActive, 0) = N;
    series(kCohortActive, 0) = N;
    series(kMeanSatisfaction, 0) = initial.reported_satisfaction / N;
    series(kQuality, 0) = 1.0;
  }
  const std::vector<std::uint8_t> quintile = satisfaction_quintiles(st, N);

  for (std::uint32_t t = 1; t <= T; ++t) {
    const bool started = t >= own.start_month;
    const Policy& pol = started ? own : baseline;
    MonthSums month = customers_month(t, t, pol, started ? d_own : d_base);
    const RandomStream r_adopt(seed, replication, t, kAdoptionDraw);
    const Derived& d = d_own;  // the network and WOM constants do not depend on the policy

    // ---- Phase 2: network exposure and adoption for prospects (a sparse
    // product over the tie lists), then the end-of-month stocks. ----
    const MonthSums end = engine::block_reduce<MonthSums>(nodes, threads, [&](std::uint32_t b, std::uint32_t e,
                                                                              MonthSums& acc) {
      auto& v = acc.v;
      for (std::uint32_t n = b; n < e; ++n) {
        // Prefetch the emissions a prospect a few rows ahead will read: its
        // ties are random nodes, so the reads miss the cache; issued early,
        // they arrive while this row is being computed.
        if (n + kPrefetchRows < e && st.status[n + kPrefetchRows] == kProspect)
          for (std::uint32_t i : network.ties(n + kPrefetchRows)) __builtin_prefetch(&st.emitted[i]);
        if (st.status[n] == kProspect) {
          // Four independent sums: the loads overlap instead of queueing
          // behind one long chain of dependent additions.
          double x_strong = 0, x_weak = 0, x_neg_strong = 0, x_neg_weak = 0;
          for (std::uint32_t i : network.strong(n)) {
            x_strong += st.emitted[i].pos;
            x_neg_strong += st.emitted[i].neg;
          }
          for (std::uint32_t i : network.weak(n)) {
            x_weak += st.emitted[i].pos;
            x_neg_weak += st.emitted[i].neg;
          }
          const double x_neg = x_neg_strong + x_neg_weak;
          // δ = (1-deterrence)^(w·x⁻), keep = 1 - p_wom; p = δ·(1 - (1-adv)·keep)
          // = δ - (1-adv)·exp(ln δ + ln keep): two exponentials, not three.
          const double log_deter = log_power(d.log1m_deterrence, wom.negative_weight * x_neg);
          const double log_keep = log_power(d.log1m_strong, x_strong) + log_power(d.log1m_weak, x_weak);
          const double deter = exp_or_one(log_deter);
          const double p = deter - d.one_minus_adv * exp_or_one(log_deter + log_keep);
          const double u = r_adopt.uniform(n);
          if (u < p) {
            v[kAcquired] += 1;
            if (u >= deter * wom.advertising) v[kAcquiredReferred] += 1;
            st.status[n] = kActiveStatus;
            st.tenure[n] = 0;
            st.S[n] = static_cast<float>(initial_satisfaction(sc.segments[st.segment[n]], sat_rng, n));
          }
        }
        if (st.status[n] == kActiveStatus) {
          v[kActive] += 1;
          if (n < N) v[kCohortActive] += 1;
          acc.reported_satisfaction += std::min(1.0f, st.S[n] + st.X[n]);
        }
      }
    });
    month.v[kActive] = end.v[kActive];
    month.v[kCohortActive] = end.v[kCohortActive];
    month.v[kAcquired] = end.v[kAcquired];
    month.v[kAcquiredReferred] = end.v[kAcquiredReferred];
    LOYALSIM_INVARIANT(month.v[kFailures] == month.v[kComplaints] + month.v[kSilentFailures] + month.v[kProactiveRecoveries],
                       "failures split");
#if defined(LOYALSIM_CHECKED)
    churned_so_far += month.v[kChurned];
    acquired_so_far += month.v[kAcquired];
    for (int m = 0; m < kMetricCount; ++m)  // margins and net value may be negative; nothing else may
      LOYALSIM_INVARIANT(m == kMargin || m == kDiscountedMargin || m == kNetValue || !(month.v[m] < 0),
                         "a count, amount or share is negative");
    LOYALSIM_INVARIANT(month.v[kActive] + churned_so_far + (nodes - N - acquired_so_far) == nodes,
                       "customers conserved: active + churned + prospects left = nodes");
    LOYALSIM_INVARIANT(month.v[kAcquiredReferred] <= month.v[kAcquired] && month.v[kCohortActive] <= month.v[kActive],
                       "subsets no larger than their sets");
#endif

    const double discount = std::pow(1.0 + mp.discount_rate_annual, -static_cast<double>(t) / 12.0);
    month.v[kMargin] = month.v[kRevenue] * mp.margin;
    month.v[kProgrammeCost] = pol.cost_per_customer_month * month.active_at_start;
    month.v[kAcquisitionCost] = mp.acquisition_cost * (month.v[kAcquired] - month.v[kAcquiredReferred]);
    month.v[kMeanSatisfaction] = end.v[kActive] > 0 ? end.reported_satisfaction / end.v[kActive]
                                                    : std::numeric_limits<double>::quiet_NaN();
    month.v[kQuality] = quality;
    month.v[kDiscountedMargin] = month.v[kMargin] * discount;
    month.v[kNetValue] =
        (month.v[kMargin] - month.v[kRecoveryCost] - month.v[kProgrammeCost] - month.v[kAcquisitionCost]) * discount;
    for (int m = 0; m < kMetricCount; ++m) series(static_cast<Metric>(m), t) = month.v[m];

    // End of month: fixed root causes raise quality for everyone.
    quality = std::max(mp.quality_floor, quality * std::exp(-mp.fix_effect * month.v[kRootCauseFixes] / N));
    if (on_month) on_month();
  }

  // ---- Stylised-fact cohorts ----
  for (std::uint32_t n = 0; n < nodes; ++n) {
    const std::uint32_t ff = st.first_fail_month[n], churn = st.churn_month[n];
    auto retained_after = [&](std::uint32_t month) { return churn == 0 || churn > month; };
    if (ff >= 1 && ff + 12 <= T) {
      ++out.fact_count[st.first_fail_cell[n]];
      if (retained_after(ff + 12)) ++out.fact_retained[st.first_fail_cell[n]];
    }
    if (n < N && T >= 12) {
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
  return out;
}

}  // namespace loyalsim::srp1
