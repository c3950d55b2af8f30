"""Secrets never shown on the Config file page; saving the masked text keeps them."""

from firmware.webui.secrets_mask import MASK, mask, unmask

TEXT = """# the box
[[trunk]]
name = "provider"
host = "sip.example"
password = "trunk-secret-1"   # from the provider

[[extension]]
number = "101"
password = "phone-secret-101"

[[webhook]]
url = "https://crm.example/hook"
secret = "webhook-secret-123456"

[email]
smtp = "mail.example:587"
password = "smtp-secret"
"""


def test_every_secret_is_masked_and_comments_stay():
    shown = mask(TEXT)
    for secret in ("trunk-secret-1", "phone-secret-101", "webhook-secret-123456", "smtp-secret"):
        assert secret not in shown
    assert shown.count(MASK) == 4 and "# from the provider" in shown


def test_saving_the_masked_text_keeps_the_secrets_and_a_changed_one_is_taken():
    edited = mask(TEXT).replace('host = "sip.example"', 'host = "sip2.example"')
    edited = edited.replace(f'smtp = "mail.example:587"\npassword = "{MASK}"',
                            'smtp = "mail.example:587"\npassword = "new-smtp-secret"')
    whole, problems = unmask(edited, TEXT)
    assert problems == []
    assert 'host = "sip2.example"' in whole and "trunk-secret-1" in whole
    assert "phone-secret-101" in whole and "new-smtp-secret" in whole


def test_a_mask_with_nothing_to_keep_is_a_problem_naming_the_key():
    edited = mask(TEXT) + f'\n[[extension]]\nnumber = "102"\npassword = "{MASK}"\n'
    _, problems = unmask(edited, TEXT)
    assert len(problems) == 1 and "number=102" in problems[0] and "password" in problems[0]
