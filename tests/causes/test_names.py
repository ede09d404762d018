"""A discovered cause's name states the failure its texts have in common, in the customers' own words."""

from __future__ import annotations

import numpy as np

from feedback.analysis.causes.label import phrase_labels


def _named(*groups: list[str]) -> list[str]:
    texts = [t for group in groups for t in group]
    labels = np.repeat(np.arange(len(groups)), [len(g) for g in groups]).astype(np.int64)
    return phrase_labels(texts, labels, np.ones(len(texts), dtype=np.int64), len(groups))


DECLINED = [f"my card was declined at the {shop} today" for shop in ("bakery", "station", "market", "pub")]


def test_words_of_the_stop_list_that_state_the_failure_stay_in_the_name() -> None:
    wrong_amount = [
        f"the ATM gave me the wrong amount of cash in {town}" for town in ("Paris", "Rome", "Oslo", "Bern")
    ] + [f"I got the wrong amount from the cash machine on {day}" for day in ("monday", "friday", "sunday")]
    names = _named(wrong_amount, DECLINED)
    assert "wrong amount" in names[0]


def test_a_phrasal_verb_keeps_its_particle() -> None:
    missing = [f"my transfer of {n} euros is not showing up in my account" for n in (10, 20, 30, 40)]
    missing += [f"the transfer from {who} still isn't showing up" for who in ("my boss", "my mother", "Tom")]
    names = _named(missing, DECLINED)
    assert "not showing up" in names[0]


def test_inflections_of_a_phrase_count_together() -> None:
    fees = [f"you charged a fee on my debit card for the {x}" for x in ("bread", "milk", "fuel", "rent")]
    fees += [f"why are you charging a fee for {x}" for x in ("coffee", "tickets", "books", "toys")]
    fees += [f"stop charges of a fee when I pay by debit card at the {x}" for x in ("zoo", "gym", "spa")]
    names = _named(fees, DECLINED)
    assert "fee" in names[0] and "debit card" not in names[0]


def test_an_acronym_in_capitals_is_not_a_stop_word() -> None:
    abroad = [
        "Can I get a card in the US?", "can I order a card if I live in the US",
        "I live in the US, can I sign up?", "Do you offer cards to people in the US",
        "Is the card available in the US?",
    ]  # fmt: skip
    names = _named(abroad, DECLINED)
    assert "US" in names[0].split()


def test_a_longer_phrase_said_almost_as_often_names_the_texts_better() -> None:
    shops = ("Aldi", "Lidl", "Tesco", "Asda", "Spar")
    declined = [f"my card payment was declined at {shop}" for shop in shops]
    declined += [f"card payment was declined again, {when}" for when in ("today", "yesterday", "twice")]
    declined += ["card payment for my rent", "card payment on the website"]
    other = [f"how do I change my address to {n} Main Street" for n in range(6)]
    names = _named(declined, other)
    assert "card payment was declined" in names[0]


def test_a_name_of_a_topic_alone_gets_the_failure_its_texts_report() -> None:
    contactless = [
        "how do I set up contactless payments", "can I turn on contactless payments for my card",
        "are contactless payments safe", "contactless payments at the bus did not work",
        "I tried contactless payments in a shop and it is not working",
        "my contactless is not working today", "contactless not working again at the station",
    ]  # fmt: skip
    names = _named(contactless, DECLINED)
    assert "contactless" in names[0] and "not working" in names[0]


def test_a_failure_said_of_the_topic_takes_the_topics_place() -> None:
    rates = [
        f"the exchange rate was wrong on my {x} payment" for x in ("hotel", "taxi", "museum", "train", "bar")
    ]
    rates += [f"which exchange rate do you use for {x}" for x in ("yen", "dollars", "euros", "pesos", "rand")]
    names = _named(rates, DECLINED)
    assert names[0] == "exchange rate was wrong"


def test_two_causes_on_one_topic_differ_without_repeating_it() -> None:
    known = [f"my direct debit to the {x} changed" for x in ("gym", "school", "council", "club")]
    known += [f"move the direct debit for {x} to the first" for x in ("rent", "water", "gas")]
    unknown = [f"who is this direct debit from {x}" for x in ("Acme", "Globex", "Initech")]
    unknown += [f"what is the direct debit payment to {x}" for x in ("Umbrella", "Hooli")]
    names = _named(known, unknown)
    assert names[0] != names[1]
    assert names[1].count("direct debit") == 1


def test_reviews_of_one_product_are_named_by_it_and_the_complaints_most_of_them_make() -> None:
    colours = ("red", "blue", "green", "black", "white", "grey", "pink")
    dresses = [f"I ordered the {c} dress. It runs small, I had to send it back" for c in colours[:3]]
    dresses += [f"Pretty {c} dress. The fabric is too thin to wear" for c in colours[3:6]]
    dresses += [f"{colours[i % 7]} dress {rest}" for i, rest in enumerate((
        "for the party", "bought in May", "with pockets", "from the sale", "my sister chose", "on the model",
        "seen online", "as a gift", "at half price", "in linen", "with a belt", "for work", "by the pool",
        "for my niece",
    ))]  # fmt: skip
    dresses += [f"a nice {c} dress. It did not work for me" for c in colours[:4]]  # a verdict, no complaint
    names = _named(dresses, DECLINED)
    subject, _, complaints = names[0].partition(": ")
    assert subject == "dress"
    assert "runs small" in complaints and "too thin" in complaints and "work" not in complaints


def test_a_payment_the_customer_did_not_make_is_named_with_its_negation() -> None:
    days = ("monday", "tuesday", "friday", "sunday", "yesterday", "today")
    unknown = [f"there is a direct debit payment that I did not do on {d}" for d in days[:3]]
    unknown += [f"I see a direct debit payment I didn't do, taken {d}" for d in days[3:]]
    unknown += ["why is there a direct debit payment on my app", "a direct debit payment shows in my app"]
    setup = [f"how do I set up a direct debit payment for my {x}" for x in ("rent", "phone", "gas", "water")]
    setup += [f"can I set up a direct debit payment to {x}" for x in ("Tom", "my landlord", "the school")]
    names = _named(unknown, setup)
    assert "did not do" in names[0] and "direct debit" in names[0]
    assert "did not" not in names[1]


def test_one_failure_put_many_ways_counts_as_one() -> None:
    towns = ("Leeds", "York", "Bath", "Hull", "Ely", "Ayr", "Wells", "Derby")
    ways = ("I was not able to withdraw", "I cannot withdraw", "I was not allowed to withdraw",
            "the ATM won't let me withdraw")  # fmt: skip
    blocked = [f"in {t} {w}" for t, w in zip(towns, ways * 2, strict=True)]
    blocked += [f"the cash machine in {t} is closed" for t in ("Kew", "Bury", "Oban", "Ripon")]
    names = _named(blocked, DECLINED)
    assert "withdraw" in names[0] and "not" in names[0].replace("cannot", "not")


def test_a_failure_said_by_a_quarter_of_a_topics_texts_takes_the_topics_place() -> None:
    towns = ("Leeds", "York", "Bath", "Hull", "Ely", "Ayr", "Wells", "Derby", "Ripon", "Oban", "Kew")
    cash = [f"the ATM in {t} gave me the wrong amount of cash" for t in towns[:3]]
    cash += [f"what amount of cash can I take out in {t}" for t in towns[3:8]]
    cash += [
        f"{t} {rest}"
        for t, rest in zip(towns[8:], ("branch shut", "queue was long", "no staff"), strict=True)
    ]
    cash += [f"my {x} is gone" for x in ("wallet", "purse", "receipt", "pin letter", "statement")]
    names = _named(cash, DECLINED)
    assert "wrong amount of cash" in names[0]


def test_what_the_customer_wants_to_get_stays_in_the_name() -> None:
    countries = ("France", "Spain", "Chile", "Japan", "Kenya", "Peru", "Italy")
    abroad = [f"I live in {c}, can I get a card?" for c in countries]
    names = _named(abroad, DECLINED)
    assert "get a card" in names[0]


def test_a_contraction_after_still_reads_as_said() -> None:
    broken = [f"the {x} I bought still isn't working" for x in ("lamp", "kettle", "radio", "fan", "clock")]
    names = _named(broken, DECLINED)
    assert "still not working" in names[0] and "still is not" not in names[0]


def test_a_request_keeps_its_verb() -> None:
    gift = [
        "I would like to order a gift card", "can I order a gift card for my aunt",
        "how to order a gift card", "gift card for a birthday, is it possible?", "do you sell a gift card",
        "gift card in pink", "gift card with a photo on it", "please order a gift card for me",
    ]  # fmt: skip
    names = _named(gift, DECLINED)
    assert names[0] == "order a gift card"


def test_the_verb_asked_for_may_replace_a_modifier_of_the_topic() -> None:
    pounds = [
        "how do I swap my pounds", "I want to swap pounds", "can I swap pounds here",
        "what do I do to swap pounds", "my wages arrive in foreign pounds", "foreign pounds in the wallet",
        "foreign pounds on my account", "is there a fee for foreign pounds",
    ]  # fmt: skip
    names = _named(pounds, DECLINED)
    assert names[0] == "swap pounds"


def test_the_negation_of_a_question_stays_with_its_verb() -> None:
    pending = [
        "Why hasn't my refund come through yet?", "why hasn't my refund come through",
        "My refund has not come through", "my refund still hasn't come through, it has been a week",
        "This is not my refund from the shop", "Why is the refund taking so long?",
    ]  # fmt: skip
    names = _named(pending, DECLINED)
    assert "not my refund" not in names[0]
    assert "refund" in names[0] and "not come" in names[0]


def test_long_complaints_about_one_product_are_named_by_it_and_their_complaints() -> None:
    openings = ("I am writing about", "This is my complaint about", "I need help with", "Please look into")
    closings = (  # long texts: each says much more than its complaint
        "I have written to the lender many times since the spring and nobody has answered my letters",
        "I called their office on several occasions and each time the agent promised an answer by mail",
        "My lawyer says this breaks the contract we signed three years ago and asks the company to explain",
        "We are a family of five and this car is how my wife and I get to work every single morning",
        "The branch manager told me to wait for head office, which I did for more than two months now",
        "I kept every receipt and bank statement since the first day and can send copies of all of them",
        "Their website offers no way to write to them except a chat robot that answers with links",
        "My credit union offered to refinance but cannot do so while this account shows a dispute",
    )
    troubles = (
        "They added a late fee I never owed", "They said my payment was missing although it cleared",
        "They added a late fee again this month", "The payment went missing for the third time",
        "Their statement shows a late fee for June", "The statement is unclear to me",
        "Nobody answers the phone", "The balance went up", "The interest rate changed in May",
        "The dealer sold the loan to a bank", "My address changed last year", "The app shows two balances",
        "My husband co-signed the contract", "The insurance was sold with it", "The rate was explained badly",
        "The title is still with the dealer",
    )  # fmt: skip
    loans = [
        f"{openings[i % 4]} my car loan. {trouble}. {closings[i % 8]}." for i, trouble in enumerate(troubles)
    ]
    names = _named(loans, DECLINED)
    assert names[0].startswith("car loan: ")
    assert "late fee" in names[0]


def test_one_failure_of_a_topic_said_in_many_wordings_takes_its_place() -> None:
    lamp = [
        "I ordered a lamp from you in May", "I ordered a lamp, can I change the colour",
        "I ordered a lamp for my mother", "I ordered a lamp with a blue shade",
        "the lamp has not arrived", "my lamp has not arrived and it is late",
        "my lamp hasn't been delivered", "the lamp has not been delivered yet", "the lamp is missing",
        "where is the lamp",
    ]  # fmt: skip
    names = _named(lamp, DECLINED)
    assert names[0].startswith("lamp") and "not" in names[0]


def test_a_forgotten_passcode_is_a_failure_however_it_is_said() -> None:
    passcode = [
        "I forgot my passcode", "I forgot the passcode, help", "I've forgotten my passcode",
        "I have forgotten my passcode again", "I forget my passcode all the time",
        "my passcode will not work", "the passcode won't work", "how to reset my passcode",
    ]  # fmt: skip
    names = _named(passcode, DECLINED)
    assert "forg" in names[0] and "passcode" in names[0]


def test_a_bare_negation_keeps_its_object_in_either_spelling() -> None:
    unknown = [
        "there is a payment I don't recognise", "a payment I don't recognize is on my statement",
        "I do not recognize this", "I don't recognise it at all", "I don't recognize the shop",
        "a strange payment that I don't recognise", "I do not recognise the amount", "not recognized",
    ]  # fmt: skip
    names = _named(unknown, DECLINED)
    assert "payment" in names[0] and "not recogni" in names[0]


def test_the_negation_of_a_question_follows_its_pronoun() -> None:
    refund = [
        "why didn't I get the refund", "why didn't I get my refund for the shoes",
        "why didn't I get the refund yet", "why didn't I get a refund from the shop",
        "why haven't I got the refund", "where is my refund",
    ]  # fmt: skip
    names = _named(refund, DECLINED)
    assert "not I" not in names[0] and "not get" in names[0]


def test_a_question_that_denies_keeps_its_negation_however_the_denial_is_worded() -> None:
    parcel = [
        "Why isn't my parcel shown on the tracking page?",
        "why is my parcel not shown on the tracking page",
        "my parcel has not appeared on the tracking page",
        "the parcel hasn't appeared on my tracking page",
        "my parcel is not listed on the tracking page",
        "why isn't my parcel listed on the tracking page",
        "the parcel does not show up on the tracking page",
        "my parcel doesn't show up on my tracking page",
        "is my parcel on the tracking page",
        "parcel on the tracking page, where?",
        "my parcel and the tracking page",
        "check my parcel on the tracking page",
    ]
    names = _named(parcel, DECLINED)
    assert "parcel" in names[0] and "not" in names[0]


def test_a_failure_said_of_another_noun_than_the_topic_follows_it() -> None:
    bills = [
        "I paid the gas bill, but the balance hasn't changed",
        "I paid the gas bill and my balance has not changed",
        "I paid the gas bill, but the balance has not been updated",
        "paid the gas bill, the balance hasn't updated",
        "I paid the gas bill but my balance is not showing it",
        "I paid the gas bill, balance not showing it",
        "I paid the gas bill on monday",
        "how do I know that I paid the gas bill",
        "I paid the gas bill twice",
        "I paid the gas bill from my phone",
        "I paid the gas bill for my mother",
        "I paid the gas bill late",
    ]
    names = _named(bills, DECLINED)
    assert "gas bill" in names[0] and "balance" in names[0] and "not" in names[0]


def test_a_relative_clause_between_a_questions_noun_and_its_verb_keeps_the_negation_with_the_verb() -> None:
    sent = [
        "Why hasn't the parcel I sent to my sister arrived yet?",
        "Why hasn't the parcel I sent to my sister arrived?",
        "why hasn't the parcel that I sent to my sister arrived",
        "why hasn't a parcel I sent to my sister arrived",
        "the parcel to my sister has not arrived",
        "my parcel to my sister has not arrived yet",
    ]
    names = _named(sent, DECLINED)
    assert not names[0].startswith("not") and "not arrived" in names[0]


def test_a_word_most_of_the_texts_say_beside_the_topic_stays_in_the_name() -> None:
    children = [
        "Can my children top up my card?",
        "Is it possible for children to top up my card?",
        "will my children be able to top up my card",
        "can children top up my card for me",
        "how do children top up my card",
        "my children top up my card, is that allowed",
        "I want to top up my card",
        "can I top up my card at a shop",
        "how do I top up my card",
    ]
    places = ("bank", "shop", "station", "kiosk", "airport", "hotel", "market", "garage")
    failed = [
        f"I tried to top up my card at the {x} and it {y}"
        for x in places
        for y in ("failed", "broke", "hung")
    ]
    names = _named(children, failed, DECLINED)
    assert "children" in names[0] and "top up my card" in names[0]
