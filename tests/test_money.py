"""Tables for the money scanner: each text holds one money expression, none, or several, and states what
scan_money must read from it. Strings are written for these tests; none is taken from an article."""

from __future__ import annotations

import pytest

from pipeline.currencies import iso_codes, place_currencies
from pipeline.money import Money, amounts_agree, detect_period, scan_money
from schemas.records import Period

Y, M, W, D, H = Period.year, Period.month, Period.week, Period.day, Period.hour

# (text, span scan_money must report, amount_min, amount_max, currency, period, open_ended)
ONE_MONEY = [
    (
        "Leads: from ₼6,000 up to about ₼8,500 per month.",
        "₼6,000 up to about ₼8,500 per month",
        6_000,
        8_500,
        "AZN",
        M,
        False,
    ),
    ("The offer: £72k + bonus.", "£72k", 72_000, 72_000, "GBP", None, False),
    ("Leads get £90k +.", "£90k +", 90_000, None, "GBP", None, True),
    ("Analysts in Rabat get 9.000 à 14.000 DH.", "9.000 à 14.000 DH", 9_000, 14_000, "MAD", None, False),
    # ranges, symbols and one suffix or symbol shared by both bounds
    ("Offers ran $110K–$145K last spring.", "$110K–$145K", 110_000, 145_000, "USD", None, False),
    ("New hires see $110–145K here.", "$110–145K", 110_000, 145_000, "USD", None, False),
    ("Product firms pay ₹8–12 LPA to start.", "₹8–12 LPA", 800_000, 1_200_000, "INR", Y, False),
    ("Offers of £60,000 to £85,000 a year are common.", "£60,000 to £85,000 a year", 60_000, 85_000, "GBP", Y, False),
    ("Berlin offers sit at €70–90k.", "€70–90k", 70_000, 90_000, "EUR", None, False),
    ("Contractors quote 80k–100k USD.", "80k–100k USD", 80_000, 100_000, "USD", None, False),
    ("It pays between €80,000 and €100,000 now.", "between €80,000 and €100,000", 80_000, 100_000, "EUR", None, False),
    ("Expect between 80 and 100k EUR.", "between 80 and 100k EUR", 80_000, 100_000, "EUR", None, False),
    ("Roughly € 70.000 - 90.000 gross.", "€ 70.000 - 90.000", 70_000, 90_000, "EUR", None, False),
    ("Pay is $1–2 million for founders.", "$1–2 million", 1_000_000, 2_000_000, "USD", None, False),
    ("A tool at $1,500–2K a seat.", "$1,500–2K", 1_500, 2_000, "USD", None, False),
    ("Exams cost $99-200 each.", "$99-200", 99, 200, "USD", None, False),
    ("Fees: $50-$70.", "$50-$70", 50, 70, "USD", None, False),
    ("Fees: $50—$70.", "$50—$70", 50, 70, "USD", None, False),
    ("Fees: $50‒$70.", "$50‒$70", 50, 70, "USD", None, False),
    ("Fees: $50−$70.", "$50−$70", 50, 70, "USD", None, False),
    ("Fees: $50 – $70.", "$50 – $70", 50, 70, "USD", None, False),
    ("It lands at $110,000 - 145,000 per year.", "$110,000 - 145,000 per year", 110_000, 145_000, "USD", Y, False),
    ("Rates of $50/hr – $80/hr apply.", "$50/hr – $80/hr", 50, 80, "USD", H, False),
    ("Rates run $60 to\n    $90 here.", "$60 to\n    $90", 60, 90, "USD", None, False),
    # point figures: amount_min == amount_max
    ("The role averages $109,000.", "$109,000", 109_000, 109_000, "USD", None, False),
    ("She took a $165K offer.", "$165K", 165_000, 165_000, "USD", None, False),
    ("Revenue hit $1.2 billion in revenue.", "$1.2 billion", 1.2e9, 1.2e9, "USD", None, False),
    ("They raised $2.5bn.", "$2.5bn", 2.5e9, 2.5e9, "USD", None, False),
    ("They raised $3mn.", "$3mn", 3e6, 3e6, "USD", None, False),
    ("They raised $85M.", "$85M", 85e6, 85e6, "USD", None, False),
    ("They raised $300MM.", "$300MM", 3e8, 3e8, "USD", None, False),
    ("Loans total $1.5 trillion.", "$1.5 trillion", 1.5e12, 1.5e12, "USD", None, False),
    ("It cost 5,000 pounds sterling.", "5,000 pounds sterling", 5_000, 5_000, "GBP", None, False),
    ("It costs $1,234.56 today.", "$1,234.56", 1234.56, 1234.56, "USD", None, False),
    ("It costs $99.99 today.", "$99.99", 99.99, 99.99, "USD", None, False),
    ("It costs 5,000 dollars.", "5,000 dollars", 5_000, 5_000, "USD", None, False),
    ("It costs 3,000 euros.", "3,000 euros", 3_000, 3_000, "EUR", None, False),
    # separators: European dots and commas, spaces of every width, Swiss apostrophes, Indian grouping
    ("Madrid: 85.000 € brutos.", "85.000 €", 85_000, 85_000, "EUR", None, False),
    ("Paris: 90 000 EUR.", "90 000 EUR", 90_000, 90_000, "EUR", None, False),
    ("Lyon: 90\u202f000\u00a0€.", "90\u202f000\u00a0€", 90_000, 90_000, "EUR", None, False),
    ("Tool: € 1\u2009250.", "€ 1\u2009250", 1_250, 1_250, "EUR", None, False),
    ("Price €1.234,56 incl.", "€1.234,56", 1234.56, 1234.56, "EUR", None, False),
    ("Zurich: CHF 120'000.", "CHF 120'000", 120_000, 120_000, "CHF", None, False),
    ("Basel: Fr. 100'000.", "Fr. 100'000", 100_000, 100_000, "CHF", None, False),
    ("Pune: ₹12,00,000 fixed.", "₹12,00,000", 1_200_000, 1_200_000, "INR", None, False),
    ("Mumbai: INR 1,20,00,000.", "INR 1,20,00,000", 12_000_000, 12_000_000, "INR", None, False),
    # Indian units
    ("Leads get ₹14.8L per annum.", "₹14.8L per annum", 1_480_000, 1_480_000, "INR", Y, False),
    ("A bonus of Rs. 5 lakh.", "Rs. 5 lakh", 500_000, 500_000, "INR", None, False),
    ("Heads get Rs 2 Cr.", "Rs 2 Cr", 20_000_000, 20_000_000, "INR", None, False),
    ("Heads get ₹1.5 crore.", "₹1.5 crore", 15_000_000, 15_000_000, "INR", None, False),
    ("A fresher gets 8 lakh.", "8 lakh", 800_000, 800_000, "INR", None, False),
    ("Seniors get 20 lakhs per annum.", "20 lakhs per annum", 2_000_000, 2_000_000, "INR", Y, False),
    ("About 5 lakh rupees.", "5 lakh rupees", 500_000, 500_000, "INR", None, False),
    ("A base of ₹6 LPA.", "₹6 LPA", 600_000, 600_000, "INR", Y, False),
    ("Clerks get Rs. 50,000/- per month.", "Rs. 50,000/- per month", 50_000, 50_000, "INR", M, False),
    # other currencies, codes before and after
    ("Toronto: C$95,000.", "C$95,000", 95_000, 95_000, "CAD", None, False),
    ("Ottawa: CA$120K.", "CA$120K", 120_000, 120_000, "CAD", None, False),
    ("Halifax: CAD 120,000.", "CAD 120,000", 120_000, 120_000, "CAD", None, False),
    ("Perth: A$150,000.", "A$150,000", 150_000, 150_000, "AUD", None, False),
    ("Sydney: AU$140k.", "AU$140k", 140_000, 140_000, "AUD", None, False),
    ("Singapore: S$8,000 per month.", "S$8,000 per month", 8_000, 8_000, "SGD", M, False),
    ("Auckland: NZ$95,000.", "NZ$95,000", 95_000, 95_000, "NZD", None, False),
    ("Kowloon: HK$600,000.", "HK$600,000", 600_000, 600_000, "HKD", None, False),
    ("Sao Paulo: R$10.000.", "R$10.000", 10_000, 10_000, "BRL", None, False),
    ("Remote: US$90,000.", "US$90,000", 90_000, 90_000, "USD", None, False),
    ("Krakow: 12 000 zł.", "12 000 zł", 12_000, 12_000, "PLN", None, False),
    ("Warsaw: PLN 18,500 monthly.", "PLN 18,500 monthly", 18_500, 18_500, "PLN", M, False),
    ("Tokyo: ¥6,000,000.", "¥6,000,000", 6_000_000, 6_000_000, "JPY", None, False),
    ("Quoted as USD 120,000.", "USD 120,000", 120_000, 120_000, "USD", None, False),
    ("Quoted as 120,000 USD.", "120,000 USD", 120_000, 120_000, "USD", None, False),
    ("Leeds: GBP 58,000 base.", "GBP 58,000", 58_000, 58_000, "GBP", None, False),
    ("Listed at $100 CAD.", "$100 CAD", 100, 100, "CAD", None, False),
    ("Manila: ₱50,000.", "₱50,000", 50_000, 50_000, "PHP", None, False),
    ("Cebu: PHP 50,000.", "PHP 50,000", 50_000, 50_000, "PHP", None, False),
    # a bare $ takes a country named in its sentence, and only when nothing American is named there
    ("Engineers in Canada earn about $130,000.", "$130,000", 130_000, 130_000, "CAD", None, False),
    ("In Australia the range is $120,000 to $160,000.", "$120,000 to $160,000", 120_000, 160_000, "AUD", None, False),
    ("Unlike the U.S., Canada pays $130,000.", "$130,000", 130_000, 130_000, "USD", None, False),
    ("Canada and Australia both pay $130,000.", "$130,000", 130_000, 130_000, "USD", None, False),
    ("Canada pays well. The US pays $150,000.", "$150,000", 150_000, 150_000, "USD", None, False),
    ("Engineers in Hong Kong earn $600,000.", "$600,000", 600_000, 600_000, "HKD", None, False),
    ("A Hong Kong listing may raise $12bn.", "$12bn", 12e9, 12e9, "USD", None, False),
    # ... or a city of a country whose own currency is written "$" (regions.toml, CLDR)
    ("Analysts in Monterrey start near $28,000.", "$28,000", 28_000, 28_000, "MXN", None, False),
    ("Analysts in Calgary and Seattle earn $98,000.", "$98,000", 98_000, 98_000, "USD", None, False),
    # periods written after or before the figure
    ("Freelancers bill $85/hr.", "$85/hr", 85, 85, "USD", H, False),
    ("Freelancers bill $90 an hour.", "$90 an hour", 90, 90, "USD", H, False),
    ("Freelancers bill $70 per hour.", "$70 per hour", 70, 70, "USD", H, False),
    ("They set an hourly rate of $95.", "$95", 95, 95, "USD", H, False),
    ("Contractors ask £600/day.", "£600/day", 600, 600, "GBP", D, False),
    ("A day rate of £650 is usual.", "£650", 650, 650, "GBP", D, False),
    ("Day rates of £500–£600 are usual.", "£500–£600", 500, 600, "GBP", D, False),
    ("Leads earn JPY 7.5–9.2 million a year.", "JPY 7.5–9.2 million a year", 7.5e6, 9.2e6, "JPY", Y, False),
    ("Consultants ask £550 per day.", "£550 per day", 550, 550, "GBP", D, False),
    ("Interns get $2,000 per week.", "$2,000 per week", 2_000, 2_000, "USD", W, False),
    ("The plan is $29/mo.", "$29/mo", 29, 29, "USD", M, False),
    ("The $10-a-month plan.", "$10-a-month", 10, 10, "USD", M, False),
    ("Rent is up from $2,100 a year ago.", "$2,100", 2_100, 2_100, "USD", None, False),
    ("It was $2,100 a month before the move.", "$2,100", 2_100, 2_100, "USD", None, False),
    ("Juniors get €2,100 a month before tax.", "€2,100 a month", 2_100, 2_100, "EUR", Period.month, False),
    ("Stipends of $8,000 monthly.", "$8,000 monthly", 8_000, 8_000, "USD", M, False),
    ("Hiring starts near $110,000/yr.", "$110,000/yr", 110_000, 110_000, "USD", Y, False),
    ("It pays $120K annually.", "$120K annually", 120_000, 120_000, "USD", Y, False),
    ("Leeds pays £50k pa.", "£50k pa", 50_000, 50_000, "GBP", Y, False),
    ("Leeds pays £45k–£60k p.a. now.", "£45k–£60k p.a.", 45_000, 60_000, "GBP", Y, False),
    ("Teams pay $600/seat/year for it.", "$600/seat/year", 600, 600, "USD", Y, False),
    (
        "Budgets of $1,000 to $2,500 per engineer per year.",
        "$1,000 to $2,500 per engineer per year",
        1_000,
        2_500,
        "USD",
        Y,
        False,
    ),
    ("Their annual pay of $140,000 is typical.", "$140,000", 140_000, 140_000, "USD", Y, False),
    # caps: amount_max only
    ("Pay can reach as high as $155,000.", "as high as $155,000", None, 155_000, "USD", None, False),
    ("Bonuses are as much as $180K.", "as much as $180K", None, 180_000, "USD", None, False),
    ("Salaries go up to $166,000.", "up to $166,000", None, 166_000, "USD", None, False),
    ("Most earn under $100,000.", "under $100,000", None, 100_000, "USD", None, False),
    ("Courses run free to $5,000.", "free to $5,000", None, 5_000, "USD", None, False),
    ("Budgets of $50K max.", "$50K max", None, 50_000, "USD", None, False),
    # open lower bounds: amount_min only, open_ended
    ("Top earners make $200,000+.", "$200,000+", 200_000, None, "USD", None, True),
    ("Leaders earn above $200,000.", "above $200,000", 200_000, None, "USD", None, True),
    ("Leaders earn over $250K.", "over $250K", 250_000, None, "USD", None, True),
    ("Leaders earn more than $300,000.", "more than $300,000", 300_000, None, "USD", None, True),
    ("Pay exceeds $120,000 annually.", "exceeds $120,000 annually", 120_000, None, "USD", Y, True),
    ("Total pay can exceed $400K.", "exceed $400K", 400_000, None, "USD", None, True),
    ("Expect at least $90K a year.", "at least $90K a year", 90_000, None, "USD", Y, True),
    ("Packages from $60,000.", "from $60,000", 60_000, None, "USD", None, True),
    ("Roles starting at $75,000.", "starting at $75,000", 75_000, None, "USD", None, True),
    ("Offers of $100K or more.", "$100K or more", 100_000, None, "USD", None, True),
    ("Offers of $120K and up.", "$120K and up", 120_000, None, "USD", None, True),
    ("Offers of $150K plus equity.", "$150K", 150_000, 150_000, "USD", None, False),
    ("Shenzhen: 300,000 RMB.", "300,000 RMB", 300_000, 300_000, "CNY", None, False),
    # ranges with an open top keep both stated numbers
    ("Seniors: $195,000 - $260,000+.", "$195,000 - $260,000+", 195_000, 260_000, "USD", None, True),
    ("Pay runs from $70K to $200K+.", "$70K to $200K+", 70_000, 200_000, "USD", None, True),
    ("It spans $101,000 to over $245,000.", "$101,000 to over $245,000", 101_000, 245_000, "USD", None, True),
    ("It ranges from roughly $90K to $140K.", "$90K to $140K", 90_000, 140_000, "USD", None, False),
]

# Every currency: codes, CLDR symbols and names, the vocabulary's local forms, and the country a text names
# deciding a marker several currencies share. (text, span, amount, currency)
EVERY_CURRENCY = [
    ("Prague pays 90 000 Kč a month.", "90 000 Kč a month", 90_000, "CZK"),
    ("Budapest: 1 250 000 Ft.", "1 250 000 Ft", 1_250_000, "HUF"),
    ("Sofia: 4 500 лв. net.", "4 500 лв.", 4_500, "BGN"),
    ("Moscow: 150 000 руб. gross.", "150 000 руб.", 150_000, "RUB"),
    ("Moscow: ₽150 000 gross.", "₽150 000", 150_000, "RUB"),
    ("Kyiv: 40 000 грн gross.", "40 000 грн", 40_000, "UAH"),
    ("Jakarta: Rp 12.000.000 gross.", "Rp 12.000.000", 12_000_000, "IDR"),
    ("Jakarta: Rp12 juta gross.", "Rp12 juta", 12_000_000, "IDR"),
    ("Kuala Lumpur: RM8,500 gross.", "RM8,500", 8_500, "MYR"),
    ("Taipei: NT$90,000 gross.", "NT$90,000", 90_000, "TWD"),
    ("Istanbul: 45.000 TL gross.", "45.000 TL", 45_000, "TRY"),
    ("Seoul: 6,000만 원 a year.", "6,000만 원 a year", 60_000_000, "KRW"),
    ("Tokyo: 年収600万円.", "600万円", 6_000_000, "JPY"),
    ("Kuwait: KD 1,300 a month.", "KD 1,300 a month", 1_300, "KWD"),
    ("Muscat: OMR 2,300 a month.", "OMR 2,300 a month", 2_300, "OMR"),
    ("Muscat: R.O. 2,300 a month.", "R.O. 2,300 a month", 2_300, "OMR"),
    ("Doha: QAR 30,000 a month.", "QAR 30,000 a month", 30_000, "QAR"),
    ("Lima: 8,000 Peruvian soles a month.", "8,000 Peruvian soles a month", 8_000, "PEN"),
    ("It pays 600 000 Swedish kronor a year.", "600 000 Swedish kronor a year", 600_000, "SEK"),
    ("Reykjavik: ISK 1.100.000 a month.", "ISK 1.100.000 a month", 1_100_000, "ISK"),
    # "kr", "¥", "Rs", "R", "lei" take the country the sentence, or the text before it, names
    ("Stockholm pays 48 000 kr a month.", "48 000 kr a month", 48_000, "SEK"),
    ("In Norway a senior earns 80 000 kr.", "80 000 kr.", 80_000, "NOK"),
    ("Danish employers pay 45.000 kr. a month.", "45.000 kr. a month", 45_000, "DKK"),
    ("## Norway\n\nSeniors earn 950 000 kr a year.", "950 000 kr a year", 950_000, "NOK"),
    ("## Sweden\n\nSeniors earn 950 000 kr a year.", "950 000 kr a year", 950_000, "SEK"),
    ("Offers in Beijing reach ¥40,000 a month.", "¥40,000 a month", 40_000, "CNY"),
    ("Offers in Tokyo reach ¥400,000 a month.", "¥400,000 a month", 400_000, "JPY"),
    ("Offers reach ¥400,000 a month.", "¥400,000 a month", 400_000, "JPY"),
    ("In Pakistan seniors get Rs 450,000 a month.", "Rs 450,000 a month", 450_000, "PKR"),
    ("Seniors get Rs 45,000 a month.", "Rs 45,000 a month", 45_000, "INR"),
    ("Cape Town: R45 000 a month.", "R45 000 a month", 45_000, "ZAR"),
    ("In Romania a senior earns 21.000 lei.", "21.000 lei", 21_000, "RON"),
    # thousands written with a space, a dot, a comma or an apostrophe, as each locale does
    ("Oslo: 1 200 000 NOK a year.", "1 200 000 NOK a year", 1_200_000, "NOK"),
    ("Geneva: CHF 1'250'000.", "CHF 1'250'000", 1_250_000, "CHF"),
    # local markers CLDR lacks; a French range word
    ("In Rabat a lead earns 30 000 DH a month.", "30 000 DH a month", 30_000, "MAD"),
    ("Dubai: Dhs 40,000 a month.", "Dhs 40,000 a month", 40_000, "AED"),
    ("A Casablanca analyst gets 14.000 dirhams.", "14.000 dirhams", 14_000, "MAD"),
    ("Montevideo: $U 120.000 a month.", "$U 120.000 a month", 120_000, "UYU"),
    ("Kumasi: GH₵ 7,500 a month.", "GH₵ 7,500 a month", 7_500, "GHS"),
    ("Hanoi: 45 triệu đồng a month.", "45 triệu đồng a month", 45_000_000, "VND"),
    ("Kingston: J$2.4 million a year.", "J$2.4 million a year", 2_400_000, "JMD"),
    ("Windhoek: N$ 38,000 a month.", "N$ 38,000 a month", 38_000, "NAD"),
    ("In Lusaka juniors earn K12,000 a month.", "K12,000 a month", 12_000, "ZMW"),
    ("Kigali: FRw 900,000 a month.", "FRw 900,000 a month", 900_000, "RWF"),
    ("Tashkent: 25,000,000 so'm a month.", "25,000,000 so'm a month", 25_000_000, "UZS"),
    ("In Baku a lead earns 4,200 manat.", "4,200 manat", 4_200, "AZN"),
    ("In Nepal a lead earns Rs 150,000 a month.", "Rs 150,000 a month", 150_000, "NPR"),
    ("Kathmandu seniors get 150,000 rupees a month.", "150,000 rupees a month", 150_000, "NPR"),
    ("Hanoi seniors: 1,2 tỷ đồng a year.", "1,2 tỷ đồng a year", 1_200_000_000, "VND"),
    # the last word of a CLDR currency name, after a number; the country decides a shared one
    ("Lilongwe juniors earn 450,000 kwachas a month.", "450,000 kwachas a month", 450_000, "MWK"),
    ("In Yerevan a lead earns 1,100,000 drams.", "1,100,000 drams", 1_100_000, "AMD"),
    ("In Jordan a senior earns 1,900 dinars a month.", "1,900 dinars a month", 1_900, "JOD"),
    ("A Port Moresby analyst is paid 6,000 Kina a month.", "6,000 Kina a month", 6_000, "PGK"),
    # a dollar told from the others by the letters of its code before "$"
    ("Belmopan analysts earn BZ$ 3,200 a month.", "BZ$ 3,200 a month", 3_200, "BZD"),
    ("Georgetown pays G$ 400,000 a month.", "G$ 400,000 a month", 400_000, "GYD"),
    # a one-letter CLDR symbol, where the text names its country; lakhs in a lakh-counting country
    ("In Eswatini an analyst earns E 18,000 a month.", "E 18,000 a month", 18_000, "SZL"),
    ("In Gambia a developer earns D 40,000 a month.", "D 40,000 a month", 40_000, "GMD"),
    ("Our Seychelles office serves the Indian Ocean. Pay: Rs 30,000 a month.", "Rs 30,000 a month", 30_000, "SCR"),
    ("In Moldova a tester earns L 20,000 a month.", "L 20,000 a month", 20_000, "MDL"),  # "L" is lakh only after
    ("In Bangladesh juniors earn 1.2 lakh a month.", "1.2 lakh a month", 120_000, "BDT"),
    ("In Mozambique a senior earns MT 150,000 a month.", "MT 150,000 a month", 150_000, "MZN"),
    # local forms CLDR lacks, the country deciding a shared one
    ("In Senegal analysts earn 6 000 000 FCFA a year.", "6 000 000 FCFA a year", 6_000_000, "XOF"),
    ("In Cameroon analysts earn 6 000 000 FCFA a year.", "6 000 000 FCFA a year", 6_000_000, "XAF"),
    ("Malé: Rf 28,000 a month.", "Rf 28,000 a month", 28_000, "MVR"),
    ("Dushanbe: 5 000 сомонӣ a month.", "5 000 сомонӣ a month", 5_000, "TJS"),
    # a "$" in a country whose own currency CLDR writes "$", wherever its section names it
    ("Tech pay in Chile rose again. Analysts earn $1.450.000 a month.", "$1.450.000 a month", 1_450_000, "CLP"),
]

# A marker several currencies share, in a text that names no country, names none: money with no currency.
UNPLACED = [
    ("Seniors earn 950 000 kr a year.", 950_000),
    ("A senior earns 21.000 lei.", 21_000),
    ("A senior earns 3,000 dinars a month.", 3_000),
]

# Figures written without a currency (issue 15, point 7): a thousands unit and a pay word in the clause make
# them money; they take the one currency the rest of the text states, else none. (text, [(span, currency)])
UNSTATED = [
    ("Offer: $310k TC.\n- base 198k\n- sign-on 40k", [("$310k", "USD"), ("198k", "USD")]),
    ("My offer is 310k TC with base 198k.", [("310k", None), ("198k", None)]),
    ("Offers: €60k in Lisbon, £55k in Leeds. Mine has base 58k.", [("€60k", "EUR"), ("£55k", "GBP"), ("58k", None)]),
    ("A 128k context window, 3.2k views and 10k steps cost $40.", [("$40", "USD")]),
    ("Seniors earn 150-180k; the course is €99.", [("150-180k", "EUR"), ("€99", "EUR")]),
]

# Forum shorthand (issue 15, point 7): a bare two- or three-digit number beside a shorthand pay word is pay in the
# unit the text writes its other pay in, with the currency its line, else the text, states.
# (text, [(span, amount_min, amount_max, currency, period)])
SHORTHAND = [
    (
        "Offer came in at $300k TC.\nI'm at 240 TC myself; Base 170, bonus 12%.",
        [
            ("$300k", 300_000, 300_000, "USD", None),
            ("240", 240_000, 240_000, "USD", None),
            ("170", 170_000, 170_000, "USD", None),
        ],
    ),
    (
        "Mine is £64k. Fintechs pay 120-140 base, juniors 45 base salary.",
        [
            ("£64k", 64_000, 64_000, "GBP", None),
            ("120-140", 120_000, 140_000, "GBP", None),
            ("45", 45_000, 45_000, "GBP", None),
        ],
    ),
    (
        "Offered ₹18 LPA (fixed 15.5, rest variable).",
        [("₹18 LPA", 1_800_000, 1_800_000, "INR", Y), ("15.5", 1_550_000, 1_550_000, "INR", Y)],
    ),
    # the line's (the post's) one currency wins over a thread of several; a line of none leaves it unknown
    (
        "In Lisbon €60k is decent, base 58 at mine.\nUS remote pays $150k.\nOthers get 90 base.",
        [
            ("€60k", 60_000, 60_000, "EUR", None),
            ("58", 58_000, 58_000, "EUR", None),
            ("$150k", 150_000, 150_000, "USD", None),
            ("90", 90_000, 90_000, None, None),
        ],
    ),
    # a line placing the figure in a country that does not use the text's one currency leaves it unknown
    (
        "Lisbon juniors start near €30k.\nI'm at 95 TC remote for a US company.\nFriend in Porto: 41 base.",
        [
            ("€30k", 30_000, 30_000, "EUR", None),
            ("95", 95_000, 95_000, None, None),
            ("41", 41_000, 41_000, "EUR", None),
        ],
    ),
    # a sentence that says which currency the figures are in governs those after it, over the thread's others
    (
        "Offer in Austin, all numbers in USD:\n- base 190\nMy cousin gets £80k base in Leeds.\nI'm at 150 base now.",
        [
            ("190", 190_000, 190_000, "USD", None),
            ("£80k", 80_000, 80_000, "GBP", None),
            ("150", 150_000, 150_000, "USD", None),
        ],
    ),
    (
        "Amounts are in euros from here on.\nBerlin: base 72k.\nLondon peers earn £90k.\nMunich offer, base 80k.",
        [
            ("72k", 72_000, 72_000, "EUR", None),
            ("£90k", 90_000, 90_000, "GBP", None),
            ("80k", 80_000, 80_000, "EUR", None),
        ],
    ),
    # a statement later in the same post counts for it; words such as "~" or "went" may stand after the word
    (
        "Offer: 140 base, 10k sign-on. All numbers in €, by the way.\nTC ~210, base went 95 last year.",
        [
            ("140", 140_000, 140_000, "EUR", None),
            ("10k", 10_000, 10_000, "EUR", None),
            ("210", 210_000, 210_000, "EUR", None),
            ("95", 95_000, 95_000, "EUR", None),
        ],
    ),
    # a number ending a phrase about one's pay ("I'm on 52", "start at 33"), in a text that writes pay in thousands
    (
        "My base is €64k.\nI'm on 52 at a fintech, juniors start at 33\nWe meet at 10 am; I went to 12 meetups.",
        [
            ("€64k", 64_000, 64_000, "EUR", None),
            ("52", 52_000, 52_000, "EUR", None),
            ("start at 33", 33_000, None, "EUR", None),
        ],
    ),
    ("Offers are ₹18 LPA.\nI'm at 14 in Pune.", [("₹18 LPA", 1_800_000, 1_800_000, "INR", Y)]),
    (
        "Offer in Munich. Everything is in €:\n- base 92, bonus 10%\nI'm on 74 with 3 YOE. Ask for a €10k sign-on.",
        [
            ("92", 92_000, 92_000, "EUR", None),
            ("74", 74_000, 74_000, "EUR", None),
            ("€10k", 10_000, 10_000, "EUR", None),
        ],
    ),
    # a three-letter code a statement names is a currency, though also an everyday token elsewhere ("CAD 3D")
    (
        "Calgary offer, 20k sign-on. My figures are CAD throughout.\n- base 135\nPeers in Ottawa get 128 TC.",
        [
            ("20k", 20_000, 20_000, "CAD", None),
            ("135", 135_000, 135_000, "CAD", None),
            ("128", 128_000, 128_000, "CAD", None),
        ],
    ),
    # a statement may be a lead word and a currency alone ("All SGD obviously.")
    (
        "Currently base 6.1k, offer is base 7.2k + AWS. All SGD obviously. Is this lowball?",
        [("6.1k", 6_100, 6_100, "SGD", None), ("7.2k", 7_200, 7_200, "SGD", None)],
    ),
    # "In GBP: …" opens a post with its currency
    (
        "London, staff MLE. In GBP: base 145k, so TC ~285 in a normal year.",
        [("145k", 145_000, 145_000, "GBP", None), ("285", 285_000, 285_000, "GBP", None)],
    ),
    # a thread's title stands above its post's statement: the statement still names the title's currency
    (
        "Is 118 base fair for a lead in Cork?\nThe figures are in EUR below. My base 96k, TC ~110.",
        [
            ("118", 118_000, 118_000, "EUR", None),
            ("96k", 96_000, 96_000, "EUR", None),
            ("110", 110_000, 110_000, "EUR", None),
        ],
    ),
    # a base with a part of pay added on top is shorthand pay; "40 + 2 guests" adds no part of pay
    (
        "Offer is $95k base.\nRight now: 82 + 8% bonus, and a friend got 88 + sign-on.\nWe had 40 + 2 guests.",
        [
            ("$95k", 95_000, 95_000, "USD", None),
            ("82", 82_000, 82_000, "USD", None),
            ("88", 88_000, 88_000, "USD", None),
        ],
    ),
    # after a change mark, the new pay reads as the figure before it does; a count that changes stays a count
    (
        "Mine went $98k → 104 in March.\nBase went 120 -> 131 at review; the team grew 12 -> 15 people.",
        [
            ("$98k", 98_000, 98_000, "USD", None),
            ("104", 104_000, 104_000, "USD", None),
            ("120", 120_000, 120_000, "USD", None),
            ("131", 131_000, 131_000, "USD", None),
        ],
    ),
    # a band's top and an offer someone names the figure of, in a text that writes pay in thousands
    (
        "My TC is £70k. Their band tops out at 85. I had an offer from a Leeds agency at 62 that I declined.",
        [
            ("£70k", 70_000, 70_000, "GBP", None),
            ("tops out at 85", None, 85_000, "GBP", None),
            ("62", 62_000, 62_000, "GBP", None),
        ],
    ),
    # in a thread of several currencies, a line naming a place of one country takes that country's currency
    (
        "Offers: $150k from a US startup; 160k CAD in Ottawa.\nI'm at 140 in Calgary.\nA friend is on 120 base.",
        [
            ("$150k", 150_000, 150_000, "USD", None),
            ("160k CAD", 160_000, 160_000, "CAD", None),
            ("140", 140_000, 140_000, "CAD", None),
            ("120", 120_000, 120_000, None, None),
        ],
    ),
    # "works out to", "comes out at" may stand after a shorthand word; "landed" is a phrase about one's pay
    (
        "My $290k offer: TC works out to about 310 with refreshers. Friends landed 250-280, I landed 3 offers.",
        [
            ("$290k", 290_000, 290_000, "USD", None),
            ("310", 310_000, 310_000, "USD", None),
            ("250-280", 250_000, 280_000, "USD", None),
        ],
    ),
    # "I'm <who and where> on 41": the words about the poster may stand between; a count after them stays one
    (
        "Offers run near €60k.\nI'm a junior analyst in Graz on 41 with 2 YOE. I'm working hard on 12 dashboards.",
        [("€60k", 60_000, 60_000, "EUR", None), ("41", 41_000, 41_000, "EUR", None)],
    ),
    # a text that writes pay in no unit: the bare numbers stay numbers
    ("She makes 240 TC and base 170.", []),
    # counts, years, levels and percentages beside pay words are never money
    (
        "Posted 2025, 14 replies, 3.2k views. L6, 7 YOE, base 2024 numbers, 15% TC growth. My TC: $280k.",
        [("$280k", 280_000, 280_000, "USD", None)],
    ),
]

NOT_MONEY = [
    "Movers reported a 40–70% raise.",
    "Pay rose 58 percent in a year.",
    "They earn about 6.2% more.",
    "Staff earn up to 18.7% higher.",
    "The 401(k) match is generous.",
    "A 401k plan is offered.",
    "Many need H-1B visas.",
    "Demand grows through 2026.",
    "Data from 2020 to 2024 shows it.",
    "Figures are in 2024 dollars.",
    "Contracts convert at 1.95583 leva to the euro.",  # finer than the lev's smallest unit: a rate, not money
    "The rate was 0.2841 dinars to the dollar.",
    "The euro rose to $1.1075 today.",
    # one-letter symbols and "MT" where the text names no country that writes them: quarters, sizes, tons
    "Sales rose in Q4 2025 and again in Q 3,000 units.",
    "The plant shipped 30,000 MT of steel.",
    "Order the E 2,000 model.",
    "Typically 0–2 years of experience.",
    "It hired 40 engineers in a quarter.",
    "The app has 10 million users.",
    "Call 555-123-4567 today.",
    "Dial +1 (555) 010-0199.",
    "Runs on PHP 8.2 and Python 3.12.",
    "Learn CAD 3D modelling.",
    "Top 10 skills and 3 projects.",
    "Pass the AI-102 exam.",
    "GPT-4 scored 86.4 on it.",
    "Drink 5 L of water.",
    "Version 1.2.3 shipped.",
    "He weighed 243 pounds.",
    "Learn R 4.3 and Br 2 first.",
    "He won 5,000 followers.",
    "It runs on an AMD 7950X.",
    "",
]

# (text, [(span, amount_min, amount_max, currency), ...])
SEVERAL = [
    (
        "Junior: $120,000-$150,000. Mid: $150,000-$200,000. Senior: $200,000+.",
        [
            ("$120,000-$150,000", 120_000, 150_000, "USD"),
            ("$150,000-$200,000", 150_000, 200_000, "USD"),
            ("$200,000+", 200_000, None, "USD"),
        ],
    ),
    (
        "The exam is $165, the course €49, and pay reaches £90k.",
        [("$165", 165, 165, "USD"), ("€49", 49, 49, "EUR"), ("£90k", 90_000, 90_000, "GBP")],
    ),
    ("Listed as $100 USD and $100 CAD.", [("$100 USD", 100, 100, "USD"), ("$100 CAD", 100, 100, "CAD")]),
    ("A $10 to 20 hours deal.", [("$10", 10, 10, "USD")]),
    ("Team 3 - $110,000 budget.", [("$110,000", 110_000, 110_000, "USD")]),
    ("Cheap: $5,000\n- 4 years and $40,000", [("$5,000", 5_000, 5_000, "USD"), ("$40,000", 40_000, 40_000, "USD")]),
    ("It costs $20 — 30 people came.", [("$20", 20, 20, "USD")]),
    (
        "$120,000–$150,000 for seniors, $200K for staff.",
        [("$120,000–$150,000", 120_000, 150_000, "USD"), ("$200K", 200_000, 200_000, "USD")],
    ),
    ("Paid $90 or $120 per visit", [("$90", 90, 90, "USD"), ("$120", 120, 120, "USD")]),
    # "k" may stand one space from the number when a currency symbol is written against it; a ratio is no amount
    ("Paris: 52 k€ – 65 k€, not 5 k, at USD 1:1.", [("52 k€ – 65 k€", 52_000, 65_000, "EUR")]),
    # an "or above" that another figure follows opens that figure, not the one before it
    (
        "Answers below $40K or above $900K were dropped.",
        [("below $40K", None, 40_000, "USD"), ("above $900K", 900_000, None, "USD")],
    ),
    (
        "Value fell from $47 billion to $8 billion.",
        [("$47 billion", 47e9, 47e9, "USD"), ("$8 billion", 8e9, 8e9, "USD")],
    ),
    # A verb of change before "from": pay before and after, two figures, even across a hard line wrap.
    (
        "His wage climbed from\n€61,000 to €66,500 after review.",
        [("€61,000", 61_000, 61_000, "EUR"), ("€66,500", 66_500, 66_500, "EUR")],
    ),
    (
        "Pay moved up by CHF 4,000 last spring, from CHF 96,000 to CHF 100,000.",
        [
            ("CHF 4,000", 4_000, 4_000, "CHF"),
            ("CHF 96,000", 96_000, 96_000, "CHF"),
            ("CHF 100,000", 100_000, 100_000, "CHF"),
        ],
    ),
    ("Offers in Lyon range from €48,000 to €57,000.", [("€48,000 to €57,000", 48_000, 57_000, "EUR")]),
]


def _only(text: str) -> Money:
    found = scan_money(text)
    assert len(found) == 1, [m.text for m in found]
    return found[0]


@pytest.mark.parametrize(
    "text, span, amount_min, amount_max, currency, period, open_ended", ONE_MONEY, ids=[case[1] for case in ONE_MONEY]
)
def test_one_money(text, span, amount_min, amount_max, currency, period, open_ended):
    money = _only(text)
    assert text[money.start : money.end] == money.text == span
    assert (money.amount_min, money.amount_max) == (amount_min, amount_max)
    assert (money.currency, money.period, money.open_ended) == (currency, period, open_ended)


@pytest.mark.parametrize(
    "text, currency",
    [
        ("Peso offers\nOffers in Mexico are quoted per month.\nAnalyst | $41,000\nLead | $77,000", "MXN"),
        ("Peso offers\nOffers in Mexico are quoted per month.\nRemote roles\nLeads earn $77,000 a year.", "USD"),
        ("Offers in Mexico are quoted per month; firms in the US pay yearly.\nLeads earn $77,000.", "USD"),
        ("Leads in Mexico, the largest market in Latin America, earn $77,000 a month.", "MXN"),  # not the US
        # past its section, the place the text before it names most: a dateline, a stated currency
        ("SINGAPORE — Banks lead on pay.\n\nBonuses\n\nA mid-level engineer has a base of $8,000.", "SGD"),
        ("All amounts are New Zealand dollars.\n\nRates\n\nSenior ML specialists charge $180 an hour.", "NZD"),
        ("Sydney and Toronto compared\n\nPay\n\nLeads earn $160,000.", "USD"),
        ("Sydney, a staff engineer, moved on.\n\nPay\n\nLeads earn $160,000.", "USD"),  # named once: no lead
        ("SAN FRANCISCO — Toronto hires too.\n\nPay\n\nLeads earn $160,000.", "USD"),
        # a text that says what its "$" stands for is read so after that, in every section
        ('Amounts are gross; "$" means Argentine pesos.\n\n## Pay\n\nLeads earn $5.2 million a month.', "ARS"),
        ("Leads earn $5.2 million a month.\n\nHere $ means Argentine pesos.", "USD"),
    ],
)
def test_a_bare_dollar_takes_the_place_its_section_names(text, currency):
    """A row or sentence that names no place takes the dollar of the last place named earlier in its section;
    past the section's heading, the dollar the text states, else that of the one place the text before it names
    most and at least twice, a dateline counting twice ("US$" counts for none; a tie or nothing: USD)."""
    assert {m.currency for m in scan_money(text)} == {currency}


def test_a_lettered_us_dollar_tells_the_texts_own_dollar_apart_and_names_no_place():
    text = "SINGAPORE — Pay (about US$9,000, US$7,000).\n\nGrants\n\nOne of $20,000."
    assert [(m.text, m.currency) for m in scan_money(text)] == [
        ("US$9,000", "USD"),
        ("US$7,000", "USD"),
        ("$20,000", "SGD"),
    ]


@pytest.mark.parametrize("text, span, amount, currency", EVERY_CURRENCY, ids=[case[1] for case in EVERY_CURRENCY])
def test_every_currency(text, span, amount, currency):
    money = _only(text)
    assert (money.text, money.amount_min, money.amount_max, money.currency) == (span, amount, amount, currency)


def test_every_iso_code_names_its_currency():
    """Every currency some territory tenders (Babel's CLDR data) is read from its code, before or after."""
    for code in sorted(iso_codes()):
        assert [(m.amount_min, m.currency) for m in scan_money(f"Pay: {code} 12,500.")] == [(12_500, code)], code
        assert [(m.amount_min, m.currency) for m in scan_money(f"Pay: 12,500 {code}.")] == [(12_500, code)], code


@pytest.mark.parametrize("text, amount", UNPLACED)
def test_a_shared_marker_without_a_country_names_no_currency(text, amount):
    money = _only(text)
    assert (money.amount_min, money.currency) == (amount, None)


@pytest.mark.parametrize("text, expected", UNSTATED, ids=[case[0][:30] for case in UNSTATED])
def test_figures_without_a_currency(text, expected):
    found = scan_money(text)
    assert [(m.text, m.currency) for m in found] == expected
    assert all(m.currency_from_text == (m.currency is not None and m.text[0].isdigit()) for m in found)


@pytest.mark.parametrize("text, expected", SHORTHAND, ids=[case[0][:30] for case in SHORTHAND])
def test_forum_shorthand(text, expected):
    found = scan_money(text)
    assert [(m.text, m.amount_min, m.amount_max, m.currency, m.period) for m in found] == expected


@pytest.mark.parametrize("text", NOT_MONEY)
def test_not_money(text):
    assert scan_money(text) == []


@pytest.mark.parametrize("text, expected", SEVERAL, ids=[case[0][:30] for case in SEVERAL])
def test_several(text, expected):
    found = scan_money(text)
    assert [(m.text, m.amount_min, m.amount_max, m.currency) for m in found] == expected
    assert all(text[m.start : m.end] == m.text for m in found)


@pytest.mark.parametrize(
    "value, quote, agrees",
    [
        (110_000, "$110K–$145K", True),
        (145_000, "$110K–$145K", True),
        (127_500, "$110K–$145K", False),
        (800_000, "a fresher gets ₹8 lakh", True),
        (80_000, "a fresher gets ₹8 lakh", False),  # the model's lakh slip
        (400_000, "a 40–70% raise", False),
        (109_500, "averages $109,000", True),  # within 0.5 %
        (110_000, "averages $109,000", False),  # 0.9 % off
        (166_000, "up to $166,000", True),
        (200_000, "$200,000+", True),
        (1_480_000, "₹14.8L", True),
        (1, "no amounts here", False),
        (245_000, "Currently at 245 TC.", True),  # shorthand: its unit is written elsewhere in the text
        (245_000, "Currently at 245 views.", False),
        # thousands with no currency: the text's statement of its currency is outside the quote
        (3_900, "Brutto-netto calculator says ~3.9k net/month for me.", True),
        (185_000, "Google L5 MLE, Kirkland: 185/20/60.", True),  # the base of a base/bonus/stock triple
        (39_000, "Brutto-netto calculator says ~3.9k net/month for me.", False),
    ],
)
def test_amounts_agree(value, quote, agrees):
    assert amounts_agree(value, quote) is agrees


@pytest.mark.parametrize(
    "text, period",
    [
        ("$50 per hour", H),
        ("$50/hr", H),
        ("$50 an hour", H),
        ("hourly contracts", H),
        ("£500 per day", D),
        ("£500/day", D),
        ("a day rate", D),
        ("paid daily", D),
        ("$2,000 per week", W),
        ("weekly pay", W),
        ("$5,000 per month", M),
        ("$29/mo", M),
        ("monthly stipend", M),
        ("$90K per year", Y),
        ("$90K/yr", Y),
        ("paid annually", Y),
        ("$90K a year", Y),
        ("per annum", Y),
        ("£50k p.a.", Y),
        ("₹12 LPA", Y),
        ("annual salary", Y),
        ("no period named", None),
        ("$50/hr or $100K a year", None),
        ("a £91,000 offer, matched within a day", None),  # a time, not a pay period
        ("reviewed twice a year, paid £4,000 a month", M),
        ("A whole week of my time costs €4,200", W),  # an adjective between the article and the unit
        ("a normal month is billed at $9,500", M),
        ("within a full day, we matched the €600 offer", None),
        # other languages (periods.toml units, unit_leads, adverbs)
        ("(triệu VND/tháng)", M),
        ("(juta Rp per bulan)", M),
        ("1.800–2.200 € brutto im Monat", M),
        ("18–24 € pro Stunde", H),
        ("Jahresbrutto (T€)", Y),
        ("45 000 kr/mån", M),
        ("un sueldo de 2.000 € al mes", M),
        ("salário de R$ 9.000 por mês", M),
    ],
)
def test_detect_period(text, period):
    assert detect_period(text) is period


@pytest.mark.parametrize(
    "text, codes",
    [
        ("remote for a US company", {"USD"}),
        ("Sweden and Norway pay", {"SEK", "NOK"}),
        ("an American firm in Stockholm", {"USD", "SEK"}),
        ("nothing placed here", set()),
    ],
)
def test_place_currencies_are_those_of_the_countries_a_span_names(text, codes):
    assert place_currencies(f"Intro. {text}. Outro in Japan.", 7, 7 + len(text)) == codes


def test_a_statement_of_the_texts_currency_decides_a_shared_marker_before_a_nearer_country():
    """Issue 15.4: "lei" is Romanian or Moldovan; a text that says its salaries are in Moldovan lei means MDL
    even where a Romanian company was named nearer the figure."""
    text = (
        "All salaries below are monthly and gross, in Moldovan lei (MDL).\n"
        "Romanian firms now hire here too. One lead was countered with 70,000 lei."
    )
    [money] = scan_money(text)
    assert money.currency == "MDL"


@pytest.mark.parametrize(
    "text, currency",
    [
        ("In Brunei, analysts bill B$ 60 an hour.", "BND"),
        ("In PNG a data engineer earns K 80,000 a year.", "PGK"),
    ],
)
def test_a_dollar_letter_and_a_countrys_short_name_place_the_currency(text, currency):
    [money] = scan_money(text)
    assert money.currency == currency


def test_a_calendar_year_in_a_clause_is_a_period():
    assert detect_period("which comes to about €52,000 over a calendar year") is Y


def test_the_old_figure_of_a_change_is_money_in_the_new_ones_currency():
    """Issue 15.2/3: "moved from 55,000 to 63,000 lei" names two pays, before and after; the first is written
    without its currency, which the second carries."""
    found = scan_money("In Moldova the senior band moved from 48,000 to 52,000 lei.")
    assert [(m.text, m.amount_min, m.currency) for m in found] == [
        ("48,000", 48_000, "MDL"),
        ("52,000 lei", 52_000, "MDL"),
    ]


@pytest.mark.parametrize(
    "value, quote, agrees",
    [
        (92_000, "Senior here, base went 84 -> 92 this year.", True),
        (84_000, "Senior here, base went 84 -> 92 this year.", True),
        (14_500, "Graduates start at P14,500 a month.", True),  # "P" needs its country, which the quote lacks
        (300, "Day rates of JD 250–350 are normal.", False),
        (350, "Day rates of JD 250–350 are normal.", True),
    ],
)
def test_a_quote_agrees_with_shorthand_after_a_change_mark_and_with_markers_that_need_a_country(value, quote, agrees):
    """Value↔quote agreement reads the quote alone: the figures its text reads there must count as written."""
    assert amounts_agree(value, quote) is agrees


def test_figures_after_a_currency_and_a_colon_are_in_that_currency_within_their_sentence():
    """ "NOK: junior 620,000–700,000" names the currency of the bare figures after it in its sentence, whatever
    other currencies the line names; a count after such a colon ("1,180 offers") and a bare figure in the next
    sentence stay numbers."""
    text = (
        "The median is NOK 935,000 (about SEK 970,000). Annual base salary in Oslo, NOK: junior 620,000–700,000; "
        "senior 950,000–1,200,000, from 1,180 offers. Another 12,000 were left out."
    )
    found = [(m.text, m.amount_min, m.amount_max, m.currency) for m in scan_money(text)]
    assert found == [
        ("NOK 935,000", 935000, 935000, "NOK"),
        ("SEK 970,000", 970000, 970000, "SEK"),
        ("620,000–700,000", 620000, 700000, "NOK"),
        ("950,000–1,200,000", 950000, 1200000, "NOK"),
    ]
