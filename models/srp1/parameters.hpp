// SRP-1 model parameters: one plain struct per table of the experiment file.
//
// Names follow the model's specification exactly (docs/model.md,
// docs/experiment-format.md); defaults are the specification's
// defaults. This header knows nothing about files: the experiment loader
// (app/experiment.*) fills these structs and validates ranges; the model only
// reads them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace loyalsim::srp1 {

// Failure causes, in the fixed order used by cause_share / cause_loss.
enum class Cause : std::uint8_t { product = 0, staff = 1, process = 2, customer = 3 };
inline constexpr int kCauses = 4;
inline constexpr std::array<const char*, kCauses> kCauseNames = {"product", "staff", "process",
                                                                  "customer"};

enum class ParadoxScope : std::uint8_t { none = 0, satisfaction_only = 1, behavioural = 2 };
inline constexpr std::array<const char*, 3> kParadoxScopeNames = {"none", "satisfaction_only",
                                                                   "behavioural"};

struct Segment {
  std::string name = "default";
  double share = 1.0;  // > 0; normalised over segments by the model
  double base_spend = 50.0;
  double churn_hazard = 0.015;
  double failure_rate = 0.05;
  double satisfaction_mean = 0.7;
  double satisfaction_sd = 0.1;
  double complaint_bias = 0.0;
  double wom_rate = 1.0;
  double recovery_responsiveness = 1.0;
};

struct Population {
  std::uint64_t customers = 100'000;  // N >= 1
  std::uint64_t prospects = 100'000;  // M >= 0
  std::uint32_t initial_tenure_max = 60;
  // How many real customers the N simulated ones stand for (0: N itself). Only
  // the presentation of counts and money uses it; the model never does.
  double represents = 0.0;
};

// Justice weights (F6) and the interactional mix.
struct JusticeWeights {
  double distributive = 0.45, interactional = 0.35, procedural = 0.20;
};
struct InteractionalWeights {
  double apology = 0.3, empathy = 0.25, explanation = 0.15, follow_up = 0.15, gesture = 0.15;
};

struct ModelParams {
  ParadoxScope paradox_scope = ParadoxScope::satisfaction_only;
  double satisfaction_ref = 0.7;
  double relaxation = 0.03;
  double severity_a = 1.2;
  double severity_b = 3.0;
  double major_threshold = 0.5;
  std::array<double, kCauses> cause_share = {0.4, 0.25, 0.2, 0.15};
  std::array<double, kCauses> cause_loss = {1.0, 1.2, 1.1, 0.5};
  double loss_weight = 0.35;
  double complaint_intercept = -3.2;
  double complaint_severity = 5.0;
  double complaint_blame = 0.5;
  double complaint_after_bad = -0.5;
  double speed_scale_days = 7.0;
  double contact_elasticity = 0.5;
  double quick_days = 1.0;
  JusticeWeights justice_weights;
  InteractionalWeights interactional_weights;
  double over_compensation_penalty = 0.5;
  double expectation_base = 0.45;
  double expectation_severity = 0.3;
  double expectation_repeat = 0.05;
  double disconfirmation_sd = 0.25;
  double gain = 0.6;
  double double_deviation = 0.8;
  double repeat_damping = 0.5;
  double stability_penalty = 0.5;
  double surplus_decay = 0.8;
  double churn_satisfaction = 4.0;
  double churn_tenure = 0.1;
  double spike_silent = 1.5;
  double spike_unresolved = 2.5;
  double spike_recovered = 0.3;
  double spike_decay = 0.5;
  double spend_slope = 0.7;
  double margin = 0.3;
  double loss_value_months = 2.0;
  double fix_effect = 5.0;
  double quality_floor = 0.5;
  double discount_rate_annual = 0.1;
  double expectation_proactive = 0.15;  // (1.1) lower expectation when the firm comes to the customer
  double acquisition_cost = 0.0;        // (1.1) money per customer won by advertising
};

struct WomParams {
  std::uint32_t strong_ties = 8;  // even
  std::uint32_t weak_ties = 8;    // even
  double rewire = 0.1;
  double ambient_positive = 0.3;
  double ambient_negative = 0.3;
  double silent = 9.0;
  double complainant_satisfied = 13.0;
  double complainant_dissatisfied = 28.0;
  double churned = 5.0;
  double advertising = 0.002;
  double strong_tie_effect = 0.04;
  double weak_tie_effect = 0.001;
  double negative_weight = 2.0;
  double deterrence = 0.05;
};

// A service-recovery policy: what the firm does when a customer complains.
struct Policy {
  std::string name = "status_quo";
  double response_days = 7.0;
  double first_contact_resolution = 0.5;
  double apology = 0.0;
  double empathy = 0.0;
  double explanation = 0.0;
  double follow_up = 0.0;
  double gesture = 0.0;
  double gesture_cost = 0.0;
  double compensation = 0.0;
  double root_cause_fix = 0.0;
  double cost_per_contact = 8.0;
  double complaint_encouragement = 0.0;  // (1.1) added to the complaint logit
  double proactive_detection = 0.0;      // (1.1) P(a failure nobody complained about is found and recovered)
  double cost_per_customer_month = 0.0;  // (1.1) running cost per customer active at the start of a month
  std::uint32_t start_month = 1;         // (1.1) the baseline policy runs in months 1 .. start_month-1
};

// Everything one simulation run needs besides the seed/replication/policy index.
struct Scenario {
  Population population;
  std::vector<Segment> segments{Segment{}};
  ModelParams model;
  WomParams wom;
  std::vector<Policy> policies{Policy{}};
  std::uint32_t horizon_months = 36;
  std::uint32_t warmup_months = 0;  // (1.1) months the market settles under the baseline before month 1
};

}  // namespace loyalsim::srp1
