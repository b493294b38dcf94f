"""Joint statistics and federated learning across data owners (seed 004), under an analyst's key."""
from __future__ import annotations

from cipherquorum.joint.contribution import CONTRIBUTION_KIND, Contribution, check_contributions
from cipherquorum.joint.data import (
    DATASETS,
    Dataset,
    OwnerShare,
    ShareSpec,
    features_schema,
    load_dataset,
    pooled,
    seed_of,
    split_shares,
    stats_schema,
)
from cipherquorum.joint.federated import (
    TrainingTerms,
    accuracy,
    average_from_sum,
    check_update_capacity,
    check_update_total,
    encode_update,
    scale_features,
    train_logistic,
)
from cipherquorum.joint.masking import MASK_KEY_KIND, apply_mask, mask_vector, owner_mask, pair_seed
from cipherquorum.joint.moments import (
    JointStatistics,
    Regression,
    largest_difference,
    lstsq_regression,
    plain_sums,
    reference_statistics,
    solve_regression,
    statistics_from_sums,
)
from cipherquorum.joint.schema import Column, JointSchema, schema_of
from cipherquorum.joint.settings import FederatedSettings, JointStatsSettings, read_federated, read_joint_stats
from cipherquorum.joint.sufficient import moment_vector, moment_width, moments_from_total

__all__ = [
    "CONTRIBUTION_KIND",
    "DATASETS",
    "MASK_KEY_KIND",
    "Column",
    "Contribution",
    "Dataset",
    "FederatedSettings",
    "JointSchema",
    "JointStatistics",
    "JointStatsSettings",
    "OwnerShare",
    "Regression",
    "ShareSpec",
    "TrainingTerms",
    "accuracy",
    "apply_mask",
    "average_from_sum",
    "check_contributions",
    "check_update_capacity",
    "check_update_total",
    "encode_update",
    "features_schema",
    "largest_difference",
    "load_dataset",
    "lstsq_regression",
    "mask_vector",
    "moment_vector",
    "moment_width",
    "moments_from_total",
    "owner_mask",
    "pair_seed",
    "plain_sums",
    "pooled",
    "read_federated",
    "read_joint_stats",
    "reference_statistics",
    "scale_features",
    "schema_of",
    "seed_of",
    "solve_regression",
    "split_shares",
    "statistics_from_sums",
    "stats_schema",
    "train_logistic",
]
