"""The eight steps of the main journey, from a real image to the publisher's monthly report."""

from wharf.demo.journey import Step
from wharf.demo.steps.customers import customer_accepts_buys_and_pulls
from wharf.demo.steps.publishing import (
    build_images,
    product_created_and_submitted,
    publisher_signs_up_and_pushes,
)
from wharf.demo.steps.reports import monthly_report
from wharf.demo.steps.review import review_fix_approve_publish, scan_finds_vulnerabilities
from wharf.demo.steps.security import advisory_hold_and_fix


STEPS = [
    Step(1, "build a real image without a Docker engine",
         "debootstrap, PyPI wheels and a Debian Go binary make OCI images with labels and a non-root user",
         build_images),
    Step(2, "a publisher signs up, verifies its email, creates its organisation and pushes",
         "accounts, emailed verification links, organisations, profiles, personal access tokens and "
         "push rights limited to members",
         publisher_signs_up_and_pushes),
    Step(3, "the publisher creates a product with a free and a paid tier and submits it",
         "feed import, the manifest rules and the submission event",
         product_created_and_submitted),
    Step(4, "the scan finds the vulnerable wheels",
         "scanning pulls the staged image, inventories each layer and matches the OSV feeds",
         scan_finds_vulnerabilities),
    Step(5, "review, fix, approval, promotion and publication",
         "Critical and Major findings block approval; a fixed image passes, is promoted and is found by search",
         review_fix_approve_publish),
    Step(6, "a customer accepts the licence, pulls, buys and pulls again",
         "the registry's token service applies each tier's access policy; checkout grants an entitlement",
         customer_accepts_buys_and_pulls),
    Step(7, "a new advisory, a missed deadline, a hold and its end",
         "re-matching, the SLA clock, holds with warning labels and emails, and a fix that lifts the hold",
         advisory_hold_and_fix),
    Step(8, "the month ends and the publisher reads its report",
         "downloads by free and paid customers, the purchase with its tax, and the amount owed "
         "equal to the payout statement",
         monthly_report),
]
