"""``[smpp] ussd`` and ``[smpp] ussd_vendor`` at start: a wrong value is one line naming the key, exit 2."""

from __future__ import annotations

from tests.support.cli import Gateway


def test_an_unknown_ussd_vendor_is_refused_naming_the_key(gateway: Gateway) -> None:
    message = gateway.refused("serve", env={"GATEWAY_SMPP_USSD": "true", "GATEWAY_SMPP_USSD_VENDOR": "huawei"})
    assert message == ("error: smpp.ussd_vendor: unknown USSD vendor 'huawei' "
                       "(one of generic, sixdee, mica, msisdn)")
    config = gateway.csv("c.toml", '[smpp]\nussd = "yes"\n')
    assert "smpp.ussd: expected true or false" in gateway.refused("serve", "--config", str(config))
