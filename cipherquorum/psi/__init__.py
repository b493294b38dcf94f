"""Private set intersection (seed 004): a requester's encrypted items against a provider's set, labeled."""
from cipherquorum.psi.hashing import HASH_COUNT, Bundles, CuckooTable, bundle_items, positions
from cipherquorum.psi.items import Item, check_items, check_labels, item_bytes
from cipherquorum.psi.oprf import BlindedItems, OprfKey, OprfOutput, field_element, label_pad
from cipherquorum.psi.published import PublishedSet, publish_set, split_sets
from cipherquorum.psi.reference import plain_intersection
from cipherquorum.psi.task import PsiTask, capacity, query_digest
from cipherquorum.psi.windowing import PowerPlan, sent_powers

__all__ = [
    "HASH_COUNT",
    "BlindedItems",
    "Bundles",
    "CuckooTable",
    "Item",
    "OprfKey",
    "OprfOutput",
    "PowerPlan",
    "PsiTask",
    "PublishedSet",
    "bundle_items",
    "capacity",
    "check_items",
    "check_labels",
    "field_element",
    "item_bytes",
    "label_pad",
    "plain_intersection",
    "positions",
    "publish_set",
    "query_digest",
    "sent_powers",
    "split_sets",
]
