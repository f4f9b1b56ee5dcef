"""The sandbox reads Stripe's form-encoded parameters the way Stripe does."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import stripe

from stripe_sandbox.errors import StripeApiError
from stripe_sandbox.params import Params, as_list, canonical, decode_form
from stripe_sandbox.webhooks import signature_header


def test_nested_keys_become_nested_hashes():
    decoded = decode_form(
        [
            ("mode", "payment"),
            ("line_items[0][quantity]", "2"),
            ("line_items[0][price_data][product_data][name]", "Tour Hạ Long"),
            ("line_items[1][quantity]", "1"),
            ("metadata[order_id]", "7"),
            ("expand[]", "payment_intent"),
            ("expand[]", "line_items"),
        ]
    )

    assert decoded == {
        "mode": "payment",
        "line_items": {
            "0": {"quantity": "2", "price_data": {"product_data": {"name": "Tour Hạ Long"}}},
            "1": {"quantity": "1"},
        },
        "metadata": {"order_id": "7"},
        "expand": {"0": "payment_intent", "1": "line_items"},
    }
    assert as_list(decoded["expand"], "expand") == ["payment_intent", "line_items"]


@pytest.mark.parametrize(
    "pairs",
    [
        [("a", "1"), ("a[b]", "2")],
        [("a[b]", "2"), ("a", "1")],
        [("a[b", "1")],
        [("[b]", "1")],
        [("a" + "[b]" * 6, "1")],
    ],
)
def test_malformed_or_conflicting_names_are_refused(pairs):
    with pytest.raises(StripeApiError) as refused:
        decode_form(pairs)
    assert refused.value.status == 400


def test_an_array_with_a_gap_is_refused():
    with pytest.raises(StripeApiError, match="Invalid array"):
        as_list({"0": "a", "2": "b"}, "expand")


def test_metadata_keys_that_look_like_indexes_stay_keys():
    assert Params(decode_form([("metadata[0]", "zero")])).metadata() == {"0": "zero"}


def test_unknown_parameters_are_named_where_they_are():
    params = Params(decode_form([("line_items[0][quantity]", "1"), ("line_items[0][size]", "L")]))
    params.hashes("line_items")[0].integer("quantity")

    with pytest.raises(StripeApiError) as refused:
        params.finish()

    assert refused.value.param == "line_items[0][size]"
    assert refused.value.message == "Received unknown parameter: line_items[0][size]"


@pytest.mark.parametrize("text", ["1.5", "12abc", "", "9" * 16])
def test_integers_are_whole_numbers_of_sensible_size(text):
    params = Params({"amount": text})
    if text == "":
        assert params.integer("amount") is None
        return
    with pytest.raises(StripeApiError) as refused:
        params.integer("amount")
    assert refused.value.param == "amount"


def test_metadata_follows_stripes_limits():
    with pytest.raises(StripeApiError, match="at most 50 keys"):
        Params({"metadata": {str(n): "v" for n in range(51)}}).metadata()
    with pytest.raises(StripeApiError, match="500 characters"):
        Params({"metadata": {"k": "v" * 501}}).metadata()
    assert Params({"metadata": {"gone": "", "kept": "x"}}).metadata() == {"kept": "x"}


def test_created_filters_read_bounds_or_an_exact_time():
    assert Params({"created": {"gte": "10", "lt": "20"}}).range_filter("created") == {
        "gte": 10,
        "lt": 20,
    }
    assert Params({"created": "15"}).range_filter("created") == {"gte": 15, "lte": 15}


def test_the_same_parameters_in_another_order_are_the_same_request():
    one = decode_form([("a", "1"), ("b[c]", "2"), ("b[d]", "3")])
    other = decode_form([("b[d]", "3"), ("a", "1"), ("b[c]", "2")])
    assert canonical(one) == canonical(other)


def test_the_signature_is_stripes():
    payload = b'{"id": "evt_1", "object": "event"}'
    header = signature_header(payload, "whsec_test", 1_700_000_000)

    expected = hmac.new(b"whsec_test", b"1700000000." + payload, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_test", tolerance=None)
