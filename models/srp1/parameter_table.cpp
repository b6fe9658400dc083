#include "models/srp1/parameter_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <type_traits>

namespace loyalsim::srp1 {

namespace {

using engine::config::above;
using engine::config::any_number;
using engine::config::at_least;
using engine::config::closed;
using engine::config::open;
using engine::config::Range;
using Scope = ParameterScope;
using Kind = ParameterKind;

template <class T>
double as_double(const T& field) {
  if constexpr (std::is_enum_v<T>) return static_cast<double>(static_cast<int>(field));
  else return static_cast<double>(field);
}
template <class T>
void from_double(T& field, double v) {
  if constexpr (std::is_enum_v<T>) field = static_cast<T>(static_cast<int>(v));
  else field = static_cast<T>(v);
}

// The accessor pair of a member expression written in terms of `s` (the
// Scenario) and `i` (the entry index).
#define LOYALSIM_ACCESS(member)                                                   \
  [](const Scenario& s, std::size_t i) { (void)i; return as_double(member); }, \
      [](Scenario& s, std::size_t i, double v) { (void)i; from_double(member, v); }

#define LOYALSIM_ROW(scope, key, kind, range, unit, meaning, evidence, member) \
  ParameterRow{Scope::scope, key, Kind::kind, range, unit, meaning, evidence, false, true, {}, {}, LOYALSIM_ACCESS(member)}

ParameterRow fixed(ParameterRow r) {
  r.sweepable = false;
  return r;
}
ParameterRow summing(ParameterRow r) {
  r.positive_sum_group = true;
  return r;
}
ParameterRow noted(ParameterRow r, std::string_view note) {
  r.default_note = note;
  return r;
}

constexpr const char* kScopes[] = {"none", "satisfaction_only", "behavioural"};
constexpr double kMaxNodes = 2'147'483'647;  // node ids are 32-bit

const std::vector<ParameterRow>& rows() {
  static const std::vector<ParameterRow> table = [] {
    std::vector<ParameterRow> t = {
        // ---- top level ----
        fixed(LOYALSIM_ROW(run, "horizon_months", integer, closed(1, 1200), "months",
                           "months simulated after the initial state (month 0)", "design choice", s.horizon_months)),
        fixed(LOYALSIM_ROW(run, "warmup_months", integer, closed(0, 600), "months",
                           "months the market lives under the baseline policy before month 1, unrecorded (1.1)",
                           "docs/model.md (warm-up): month 0 is not a state the model sustains", s.warmup_months)),
        // ---- [population] ----
        fixed(LOYALSIM_ROW(population, "customers", integer, closed(1, kMaxNodes), "customers",
                           "initial customers N, active at month 0", "firm-specific", s.population.customers)),
        fixed(LOYALSIM_ROW(population, "prospects", integer, closed(0, kMaxNodes), "customers",
                           "prospects M who may adopt through advertising and word of mouth (0: no acquisition)",
                           "firm-specific", s.population.prospects)),
        fixed(LOYALSIM_ROW(population, "initial_tenure_max", integer, closed(1, 1200), "months",
                           "initial tenure is uniform on the whole months 0 .. max-1", "assumption",
                           s.population.initial_tenure_max)),
        noted(fixed(LOYALSIM_ROW(population, "represents", real, above(0), "customers",
                                 "real customers the simulated initial customers stand for: counts and money are "
                                 "shown at this scale (the results keep raw values)",
                                 "presentation only", s.population.represents)),
              "customers"),
        // ---- [[segments]] ----
        LOYALSIM_ROW(segment, "share", real, above(0), "1", "relative size of the segment (shares are normalised)",
                     "C7: some customers are chronically dissatisfied", s.segments[i].share),
        LOYALSIM_ROW(segment, "base_spend", real, at_least(0), "money/month",
                     "monthly spend of a customer at satisfaction_ref", "firm-specific (a bill)",
                     s.segments[i].base_spend),
        LOYALSIM_ROW(segment, "churn_hazard", real, at_least(0), "1/month",
                     "monthly churn hazard at satisfaction_ref, tenure 0, no spike",
                     "F22: monthly churn 0.8-1.8% (telecom), 3-7% (SaaS SMB)", s.segments[i].churn_hazard),
        LOYALSIM_ROW(segment, "failure_rate", real, at_least(0), "1/month",
                     "expected service failures per customer and month (at quality 1)",
                     "C6: about 60% of customers had a problem in six months", s.segments[i].failure_rate),
        LOYALSIM_ROW(segment, "satisfaction_mean", real, open(0, 1), "1",
                     "mean initial satisfaction, and the level satisfaction relaxes to", "assumption",
                     s.segments[i].satisfaction_mean),
        LOYALSIM_ROW(segment, "satisfaction_sd", real, at_least(0), "1",
                     "spread of initial satisfaction (clipped to [0.01, 0.99])", "assumption",
                     s.segments[i].satisfaction_sd),
        LOYALSIM_ROW(segment, "complaint_bias", real, any_number(), "logit",
                     "added to the complaint logit: > 0 for customers who complain about everything",
                     "C7: chronic complainers", s.segments[i].complaint_bias),
        LOYALSIM_ROW(segment, "wom_rate", real, at_least(0), "1", "multiplies every message the segment emits",
                     "assumption", s.segments[i].wom_rate),
        LOYALSIM_ROW(segment, "recovery_responsiveness", real, at_least(0), "1",
                     "multiplies what a satisfying recovery gains: low for customers hard to win back",
                     "C7: some customers stay dissatisfied whatever is done", s.segments[i].recovery_responsiveness),
        // ---- [model] ----
        ParameterRow{Scope::model, "paradox_scope", Kind::choice, {}, "choice",
                     "where a recovery's gain goes: none; satisfaction_only (an attitudinal surplus that "
                     "does not drive churn, spend or WOM); behavioural (satisfaction itself)",
                     "F1, F4: the paradox raises satisfaction, rarely behaviour", false, true, kScopes, {},
                     LOYALSIM_ACCESS(s.model.paradox_scope)},
        LOYALSIM_ROW(model, "satisfaction_ref", real, closed(0, 1), "1",
                     "satisfaction at which churn_hazard and base_spend apply", "assumption",
                     s.model.satisfaction_ref),
        LOYALSIM_ROW(model, "relaxation", real, closed(0, 1), "1/month",
                     "monthly pull of satisfaction towards the segment's mean", "assumption", s.model.relaxation),
        LOYALSIM_ROW(model, "severity_a", real, above(0), "1", "Kumaraswamy a of failure severity s in [0, 1]",
                     "F13: few minor failures are complained about, most major ones", s.model.severity_a),
        LOYALSIM_ROW(model, "severity_b", real, above(0), "1", "Kumaraswamy b of failure severity (larger: milder)",
                     "F13", s.model.severity_b),
        LOYALSIM_ROW(model, "major_threshold", real, closed(0, 1), "1", "severity from which a failure is major",
                     "F12: TARP's minor/major split", s.model.major_threshold),
        summing(LOYALSIM_ROW(model, "cause_share.product", real, at_least(0), "1", "weight of product failures",
                             "C7: product defects, staff errors, customer misunderstanding", s.model.cause_share[0])),
        summing(LOYALSIM_ROW(model, "cause_share.staff", real, at_least(0), "1", "weight of staff failures", "C7",
                             s.model.cause_share[1])),
        summing(LOYALSIM_ROW(model, "cause_share.process", real, at_least(0), "1", "weight of process failures",
                             "C7", s.model.cause_share[2])),
        summing(LOYALSIM_ROW(model, "cause_share.customer", real, at_least(0), "1",
                             "weight of failures the customer caused (the firm is not to blame)", "C5, F11",
                             s.model.cause_share[3])),
        LOYALSIM_ROW(model, "cause_loss.product", real, at_least(0), "1", "loss multiplier of a product failure",
                     "assumption", s.model.cause_loss[0]),
        LOYALSIM_ROW(model, "cause_loss.staff", real, at_least(0), "1", "loss multiplier of a staff failure",
                     "assumption", s.model.cause_loss[1]),
        LOYALSIM_ROW(model, "cause_loss.process", real, at_least(0), "1", "loss multiplier of a process failure",
                     "assumption", s.model.cause_loss[2]),
        LOYALSIM_ROW(model, "cause_loss.customer", real, at_least(0), "1",
                     "loss multiplier of a customer-caused failure", "F11", s.model.cause_loss[3]),
        LOYALSIM_ROW(model, "loss_weight", real, at_least(0), "1",
                     "satisfaction a failure takes away per unit of severity (times the cause's loss)", "assumption",
                     s.model.loss_weight),
        LOYALSIM_ROW(model, "complaint_intercept", real, any_number(), "logit", "complaint logit at severity 0",
                     "F13: ~4% complain about minor problems", s.model.complaint_intercept),
        LOYALSIM_ROW(model, "complaint_severity", real, any_number(), "logit", "complaint logit per unit of severity",
                     "F13: 79% complain after a serious loss", s.model.complaint_severity),
        LOYALSIM_ROW(model, "complaint_blame", real, any_number(), "logit",
                     "added to the complaint logit when the firm is to blame", "C5, F3", s.model.complaint_blame),
        LOYALSIM_ROW(model, "complaint_after_bad", real, any_number(), "logit",
                     "added to the complaint logit per earlier dissatisfying recovery",
                     "F17 (direction; size assumed)", s.model.complaint_after_bad),
        LOYALSIM_ROW(model, "speed_scale_days", real, above(0), "days",
                     "delay at which the speed part of procedural justice falls to 1/e", "C4, F7: speed matters",
                     s.model.speed_scale_days),
        LOYALSIM_ROW(model, "contact_elasticity", real, at_least(0), "1",
                     "procedural justice falls as contacts^(-elasticity)", "C6: ownership, no runaround",
                     s.model.contact_elasticity),
        LOYALSIM_ROW(model, "quick_days", real, at_least(0), "days",
                     "longest delay of a one-contact recovery counted as resolved quickly", "F12",
                     s.model.quick_days),
        summing(LOYALSIM_ROW(model, "justice_weights.distributive", real, at_least(0), "1",
                             "weight of distributive justice (compensation) in recovery performance",
                             "F6: distributive > interactional > procedural (Orsingher et al. 2010)",
                             s.model.justice_weights.distributive)),
        summing(LOYALSIM_ROW(model, "justice_weights.interactional", real, at_least(0), "1",
                             "weight of interactional justice (apology, empathy, ...)", "F6",
                             s.model.justice_weights.interactional)),
        summing(LOYALSIM_ROW(model, "justice_weights.procedural", real, at_least(0), "1",
                             "weight of procedural justice (speed, contacts)", "F6",
                             s.model.justice_weights.procedural)),
        summing(LOYALSIM_ROW(model, "interactional_weights.apology", real, at_least(0), "1",
                             "weight of an apology in interactional justice", "C3, C6: sincere regret",
                             s.model.interactional_weights.apology)),
        summing(LOYALSIM_ROW(model, "interactional_weights.empathy", real, at_least(0), "1",
                             "weight of empathy", "C3, C2", s.model.interactional_weights.empathy)),
        summing(LOYALSIM_ROW(model, "interactional_weights.explanation", real, at_least(0), "1",
                             "weight of an explanation", "C3", s.model.interactional_weights.explanation)),
        summing(LOYALSIM_ROW(model, "interactional_weights.follow_up", real, at_least(0), "1",
                             "weight of a follow-up", "C3: assurance it will not recur",
                             s.model.interactional_weights.follow_up)),
        summing(LOYALSIM_ROW(model, "interactional_weights.gesture", real, at_least(0), "1",
                             "weight of a non-monetary gesture", "C2", s.model.interactional_weights.gesture)),
        LOYALSIM_ROW(model, "over_compensation_penalty", real, at_least(0), "1",
                     "distributive justice lost per unit of compensation above 1.5 times the loss",
                     "F9: over-compensation helps up to ~150%, then hurts", s.model.over_compensation_penalty),
        LOYALSIM_ROW(model, "expectation_base", real, any_number(), "1",
                     "recovery performance a customer expects after a failure of severity 0", "assumption",
                     s.model.expectation_base),
        LOYALSIM_ROW(model, "expectation_severity", real, any_number(), "1",
                     "expected performance added per unit of severity", "F3: severity makes recovery harder",
                     s.model.expectation_severity),
        LOYALSIM_ROW(model, "expectation_repeat", real, any_number(), "1",
                     "expected performance added per earlier failure (at most 3)", "F2",
                     s.model.expectation_repeat),
        LOYALSIM_ROW(model, "expectation_proactive", real, closed(0, 1), "1",
                     "expected performance removed when the firm came to the customer first (1.1)",
                     "C3: a spontaneous response; assumption on the size", s.model.expectation_proactive),
        LOYALSIM_ROW(model, "disconfirmation_sd", real, at_least(0), "1",
                     "spread of the noise in disconfirmation D = performance - expectation", "assumption",
                     s.model.disconfirmation_sd),
        LOYALSIM_ROW(model, "gain", real, at_least(0), "1",
                     "satisfaction gained per unit of positive disconfirmation", "F1, F4: the paradox is small",
                     s.model.gain),
        LOYALSIM_ROW(model, "double_deviation", real, at_least(0), "1",
                     "satisfaction lost per unit of negative disconfirmation", "F2, C5: double deviation",
                     s.model.double_deviation),
        LOYALSIM_ROW(model, "repeat_damping", real, closed(0, 1), "1",
                     "factor on the gain per earlier failure", "F2: the paradox follows a first failure only",
                     s.model.repeat_damping),
        LOYALSIM_ROW(model, "stability_penalty", real, closed(0, 1), "1",
                     "share of the gain lost when the failure repeats the previous cause",
                     "F3, C5: stable causes block the paradox", s.model.stability_penalty),
        LOYALSIM_ROW(model, "surplus_decay", real, closed(0, 1), "1/month",
                     "monthly factor on the attitudinal surplus X", "F1", s.model.surplus_decay),
        LOYALSIM_ROW(model, "churn_satisfaction", real, closed(-100, 100), "1",
                     "log churn hazard per unit of satisfaction below satisfaction_ref",
                     "F5, F20: satisfied customers stay (74% vs 43% a year)", s.model.churn_satisfaction),
        LOYALSIM_ROW(model, "churn_tenure", real, at_least(0), "1",
                     "the hazard falls as (1 + tenure)^(-churn_tenure)", "F5: tenure buffers", s.model.churn_tenure),
        LOYALSIM_ROW(model, "spike_silent", real, at_least(0), "1",
                     "churn spike added per unit of severity of a silent failure",
                     "F24: failures drive switching", s.model.spike_silent),
        LOYALSIM_ROW(model, "spike_unresolved", real, at_least(0), "1",
                     "churn spike per unit of severity after a dissatisfying recovery", "F5, F17",
                     s.model.spike_unresolved),
        LOYALSIM_ROW(model, "spike_recovered", real, at_least(0), "1",
                     "churn spike per unit of severity after a satisfying recovery",
                     "F5: recovery offsets a complaint's churn partly, almost never fully", s.model.spike_recovered),
        LOYALSIM_ROW(model, "spike_decay", real, closed(0, 1), "1/month", "monthly factor on the churn spike",
                     "assumption", s.model.spike_decay),
        LOYALSIM_ROW(model, "spend_slope", real, any_number(), "1",
                     "relative change of spend per unit of satisfaction above satisfaction_ref",
                     "F19, F20, C7: the most satisfied spend 2.4x the least (T9)", s.model.spend_slope),
        LOYALSIM_ROW(model, "margin", real, any_number(), "1", "margin on revenue", "firm-specific",
                     s.model.margin),
        LOYALSIM_ROW(model, "loss_value_months", real, at_least(0), "months",
                     "the money value of a failure's loss, in months of base_spend per unit of severity: "
                     "compensation 1.0 pays it back",
                     "assumption", s.model.loss_value_months),
        LOYALSIM_ROW(model, "fix_effect", real, at_least(0), "1",
                     "quality gain per root-cause fix per customer: Q falls by exp(-fix_effect fixes / N)",
                     "assumption", s.model.fix_effect),
        LOYALSIM_ROW(model, "quality_floor", real, Range({0, 1, false, true}), "1",
                     "lowest quality factor Q that fixing root causes can reach", "assumption",
                     s.model.quality_floor),
        LOYALSIM_ROW(model, "discount_rate_annual", real, Range({-1, 100, true, false}), "1/year",
                     "annual rate at which net value is discounted to month 0", "finance convention",
                     s.model.discount_rate_annual),
        LOYALSIM_ROW(model, "acquisition_cost", real, at_least(0), "money/customer",
                     "cost of each customer won by advertising; referred customers cost nothing (1.1)",
                     "F23, C4: referrals are worth more and cost less", s.model.acquisition_cost),
        // ---- [wom] ----
        LOYALSIM_ROW(wom, "strong_ties", even_integer, closed(0, 64), "ties",
                     "strong ties per node: neighbours on a Watts-Strogatz ring",
                     "Goldenberg, Libai & Muller 2001: 8 strong + 8 weak", s.wom.strong_ties),
        LOYALSIM_ROW(wom, "weak_ties", even_integer, closed(0, 64), "ties",
                     "weak ties per node: weak_ties/2 uniformly random partners drawn by each node",
                     "Goldenberg et al. 2001", s.wom.weak_ties),
        LOYALSIM_ROW(wom, "rewire", real, closed(0, 1), "1", "probability a ring tie is rewired to a random node",
                     "Watts-Strogatz; assumption", s.wom.rewire),
        LOYALSIM_ROW(wom, "ambient_positive", real, at_least(0), "messages/month",
                     "positive messages a month of a fully satisfied customer (scaled by (S-0.5)/0.5)",
                     "F18: positive WOM is about 3x negative", s.wom.ambient_positive),
        LOYALSIM_ROW(wom, "ambient_negative", real, at_least(0), "messages/month",
                     "negative messages a month of a fully dissatisfied customer", "F18", s.wom.ambient_negative),
        LOYALSIM_ROW(wom, "silent", real, at_least(0), "messages", "negative messages after a silent failure",
                     "F18", s.wom.silent),
        LOYALSIM_ROW(wom, "complainant_satisfied", real, at_least(0), "messages",
                     "positive messages after a satisfying recovery", "F18: satisfied complainants told 10-16",
                     s.wom.complainant_satisfied),
        LOYALSIM_ROW(wom, "complainant_dissatisfied", real, at_least(0), "messages",
                     "negative messages after a dissatisfying recovery", "F18: dissatisfied complainants told 28",
                     s.wom.complainant_dissatisfied),
        LOYALSIM_ROW(wom, "churned", real, at_least(0), "messages", "negative messages of a customer who churns",
                     "assumption", s.wom.churned),
        LOYALSIM_ROW(wom, "advertising", real, closed(0, 1), "1/month",
                     "monthly probability a prospect adopts through advertising",
                     "Goldenberg et al. 2001: 0.0005-0.015", s.wom.advertising),
        LOYALSIM_ROW(wom, "strong_tie_effect", real, closed(0, 1), "1",
                     "adoption probability per positive message over a strong tie",
                     "Goldenberg et al. 2001: 0.01-0.07", s.wom.strong_tie_effect),
        LOYALSIM_ROW(wom, "weak_tie_effect", real, closed(0, 1), "1",
                     "adoption probability per positive message over a weak tie",
                     "Goldenberg et al. 2001: 0.001-0.015", s.wom.weak_tie_effect),
        LOYALSIM_ROW(wom, "negative_weight", real, at_least(0), "1", "weight of a negative message in deterrence",
                     "negative WOM weighs about 2x", s.wom.negative_weight),
        LOYALSIM_ROW(wom, "deterrence", real, Range({0, 1, false, true}), "1",
                     "share of adoption one weighted negative message deters", "assumption", s.wom.deterrence),
        // ---- [[policies]] ----
        LOYALSIM_ROW(policy, "response_days", real, closed(0, 3650), "days",
                     "mean days from a complaint to the firm's response (exponential)", "C4, F7: respond at once",
                     s.policies[i].response_days),
        LOYALSIM_ROW(policy, "first_contact_resolution", real, Range({0, 1, true, false}), "1",
                     "probability a contact resolves the complaint (contacts are geometric, at most 20)",
                     "C4: empowered front line", s.policies[i].first_contact_resolution),
        LOYALSIM_ROW(policy, "apology", real, closed(0, 1), "1", "how fully the firm apologises",
                     "C3, C6: sincere regret", s.policies[i].apology),
        LOYALSIM_ROW(policy, "empathy", real, closed(0, 1), "1", "how much empathy the handling shows",
                     "C2, C3", s.policies[i].empathy),
        LOYALSIM_ROW(policy, "explanation", real, closed(0, 1), "1", "how fully the failure is explained", "C3",
                     s.policies[i].explanation),
        LOYALSIM_ROW(policy, "follow_up", real, closed(0, 1), "1", "whether the firm follows up afterwards",
                     "C3: assurance it will not recur", s.policies[i].follow_up),
        LOYALSIM_ROW(policy, "gesture", real, closed(0, 1), "1", "a non-monetary token (thanks, a small gift)",
                     "C2, C3", s.policies[i].gesture),
        LOYALSIM_ROW(policy, "gesture_cost", real, at_least(0), "money", "cost of one gesture", "firm-specific",
                     s.policies[i].gesture_cost),
        LOYALSIM_ROW(policy, "compensation", real, closed(0, 1e6), "1",
                     "compensation as a multiple of the customer's loss: 1.0 pays the loss back",
                     "C2, F7, F9: money alone satisfies 37%", s.policies[i].compensation),
        LOYALSIM_ROW(policy, "root_cause_fix", real, closed(0, 1), "1",
                     "probability a failure the firm is to blame for gets its root cause fixed",
                     "C3: assurance it will not recur", s.policies[i].root_cause_fix),
        LOYALSIM_ROW(policy, "cost_per_contact", real, at_least(0), "money", "handling cost of one contact",
                     "firm-specific", s.policies[i].cost_per_contact),
        LOYALSIM_ROW(policy, "complaint_encouragement", real, closed(0, 5), "logit",
                     "added to the complaint logit: easy channels and surveys bring silent failures to recovery (1.1)",
                     "F13: most dissatisfied customers never complain", s.policies[i].complaint_encouragement),
        LOYALSIM_ROW(policy, "proactive_detection", real, closed(0, 1), "1",
                     "probability the firm finds a failure nobody complained about and recovers it (1.1)",
                     "C3: a spontaneous response", s.policies[i].proactive_detection),
        LOYALSIM_ROW(policy, "cost_per_customer_month", real, at_least(0), "money/customer-month",
                     "running cost of the programme (training, staffing, monitoring) per customer active at "
                     "the start of a month (1.1)",
                     "firm-specific", s.policies[i].cost_per_customer_month),
        LOYALSIM_ROW(policy, "start_month", integer, closed(1, 1200), "month",
                     "the month the policy starts; before it the baseline policy runs (1.1). The baseline's is 1",
                     "docs/model.md (policy start)", s.policies[i].start_month),
    };
    return t;
  }();
  return table;
}

#undef LOYALSIM_ROW
#undef LOYALSIM_ACCESS

std::string format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

std::span<const ParameterRow> parameter_table() { return rows(); }

std::string ParameterRow::path(std::string_view entry_name) const {
  if (scope == Scope::run) return std::string(key);
  std::string p = kScopeNames[static_cast<int>(scope)];
  p += '.';
  if (in_entry()) p.append(entry_name).append(".");
  return p.append(key);
}

std::string_view ParameterRow::group() const {
  const auto dot = key.find('.');
  return dot == std::string_view::npos ? std::string_view{} : key.substr(0, dot);
}

std::string_view ParameterRow::leaf() const {
  const auto dot = key.find('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

double ParameterRow::default_value() const {
  static const Scenario defaults;
  return get(defaults, 0);
}

std::string ParameterRow::describe_value(double v) const {
  if (kind == Kind::choice) return choices[static_cast<std::size_t>(v)];
  return format_value(v);
}

std::string ParameterRow::allowed() const {
  switch (kind) {
    case Kind::real: return range.describe();
    case Kind::integer:
      return "an integer in [" + format_value(range.lo) + ", " + format_value(range.hi) + "]";
    case Kind::even_integer:
      return "an even integer in [" + format_value(range.lo) + ", " + format_value(range.hi) + "]";
    case Kind::choice: {
      std::string s;
      for (const char* c : choices) s += (s.empty() ? "one of \"" : ", \"") + std::string(c) + "\"";
      return s;
    }
  }
  return "";
}

std::vector<ParameterRef> scenario_parameters(const Scenario& sc, bool sweepable_only) {
  std::vector<ParameterRef> out;
  auto add = [&](const ParameterRow& r, std::size_t entry, std::string_view name) {
    out.push_back({&r, entry, r.path(name)});
  };
  // Scalars first, then each segment's rows, then each policy's: the order of
  // the experiment file.
  for (const auto& r : rows())
    if (!r.in_entry() && (r.sweepable || !sweepable_only)) add(r, 0, "");
  for (std::size_t i = 0; i < sc.segments.size(); ++i)
    for (const auto& r : rows())
      if (r.scope == Scope::segment) add(r, i, sc.segments[i].name);
  for (std::size_t i = 0; i < sc.policies.size(); ++i)
    for (const auto& r : rows())
      if (r.scope == Scope::policy) add(r, i, sc.policies[i].name);
  return out;
}

std::optional<ParameterRef> find_parameter(const Scenario& sc, std::string_view path) {
  auto entry_of = [&](const auto& entries, std::string_view rest, Scope scope) -> std::optional<ParameterRef> {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string& name = entries[i].name;
      if (rest.size() <= name.size() + 1 || rest.substr(0, name.size()) != name || rest[name.size()] != '.') continue;
      const std::string_view key = rest.substr(name.size() + 1);
      for (const auto& r : rows())
        if (r.scope == scope && r.key == key) return ParameterRef{&r, i, std::string(path)};
    }
    return std::nullopt;
  };
  if (path.starts_with("segments.")) return entry_of(sc.segments, path.substr(9), Scope::segment);
  if (path.starts_with("policies.")) return entry_of(sc.policies, path.substr(9), Scope::policy);
  for (const auto& r : rows())
    if (!r.in_entry() && r.path() == path) return ParameterRef{&r, 0, std::string(path)};
  return std::nullopt;
}

std::vector<const ParameterRow*> rows_of(ParameterScope scope) {
  std::vector<const ParameterRow*> out;
  for (const auto& r : rows())
    if (r.scope == scope) out.push_back(&r);
  return out;
}

std::optional<std::string> zero_weight_group(const Scenario& sc) {
  std::vector<std::string_view> groups;
  for (const auto& r : rows())
    if (r.positive_sum_group && std::find(groups.begin(), groups.end(), r.group()) == groups.end())
      groups.push_back(r.group());
  for (const auto g : groups) {
    double sum = 0;
    for (const auto& r : rows())
      if (r.positive_sum_group && r.group() == g) sum += r.get(sc, 0);
    if (!(sum > 0)) return "model." + std::string(g);
  }
  return std::nullopt;
}

std::vector<ScenarioProblem> scenario_problems(const Scenario& sc) {
  std::vector<ScenarioProblem> out;
  for (std::size_t i = 0; i < sc.policies.size(); ++i) {
    const Policy& p = sc.policies[i];
    const std::string path = "policies." + p.name + ".start_month";
    if (i == 0 && p.start_month != 1)
      out.push_back({path, "the baseline policy (the first) starts in month " + std::to_string(p.start_month),
                     "1: the baseline is what other policies switch from"});
    else if (p.start_month > sc.horizon_months)
      out.push_back({path, "month " + std::to_string(p.start_month) + " is beyond the horizon of " +
                               std::to_string(sc.horizon_months) + " months",
                     "an integer in [1, " + std::to_string(sc.horizon_months) + "]"});
  }
  return out;
}

namespace {

std::string markdown_cell(std::string_view s) {
  std::string out;
  for (const char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  return format_value(v);
}

}  // namespace

std::string parameters_markdown(ParameterScope scope) {
  std::string out = "| key | default | allowed | unit | meaning | evidence |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const ParameterRow* r : rows_of(scope)) {
    const std::string def = r->default_note.empty() ? r->describe_value(r->default_value()) : std::string(r->default_note);
    out += "| `" + std::string(r->key) + "` | " + markdown_cell(def) + " | " + markdown_cell(r->allowed()) + " | " +
           markdown_cell(r->unit) + " | " + markdown_cell(r->meaning) + " | " + markdown_cell(r->evidence) + " |\n";
  }
  return out;
}

std::string parameters_json() {
  std::string out = "[";
  bool first = true;
  for (const auto& r : rows()) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "  {\"path\": " + json_string(r.path()) + ", \"scope\": " +
           json_string(r.scope == Scope::run ? "run" : kScopeNames[static_cast<int>(r.scope)]) +
           ", \"key\": " + json_string(r.key) + ", \"kind\": " + json_string(kKindNames[static_cast<int>(r.kind)]) +
           ", \"default\": " + (r.kind == Kind::choice ? json_string(r.describe_value(r.default_value()))
                                                       : json_number(r.default_value())) +
           ", \"default_note\": " + json_string(r.default_note) + ", \"low\": " + json_number(r.range.lo) +
           ", \"high\": " + json_number(r.range.hi) + ", \"low_open\": " + (r.range.lo_open ? "true" : "false") +
           ", \"high_open\": " + (r.range.hi_open ? "true" : "false") + ", \"allowed\": " + json_string(r.allowed()) +
           ", \"choices\": [";
    for (std::size_t c = 0; c < r.choices.size(); ++c) out += (c ? ", " : "") + json_string(r.choices[c]);
    out += "], \"unit\": " + json_string(r.unit) + ", \"meaning\": " + json_string(r.meaning) +
           ", \"evidence\": " + json_string(r.evidence) + ", \"sweepable\": " + (r.sweepable ? "true" : "false") +
           ", \"positive_sum_group\": " + (r.positive_sum_group ? "true" : "false") + "}";
  }
  return out + "\n]\n";
}

}  // namespace loyalsim::srp1
