"""Clinical and administrative code tables used by the generator.

Shapes follow the real code systems: SNOMED CT identifiers are numeric strings with a
valid Verhoeff check digit (checked by :func:`snomed_valid` and the tests), ICD-10
codes are ``A00`` or ``A00.0``, OPCS-4 codes ``A00.0``, NHS Data Dictionary codes
(admission method, discharge destination, attendance status, treatment function) are
the national values. The medication concepts are SNOMED CT / dm+d substance or
product concepts chosen to be plausible first-line treatments; they are illustrative.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CANCER_SITES",
    "CONDITIONS",
    "CONDITION_INDEX",
    "ECDS_COMPLAINTS",
    "ECDS_DESTINATIONS",
    "ELECTIVE_PROCEDURES",
    "ETHNIC_CODES",
    "FRAILTY_CODES",
    "GENERAL_EMERGENCY",
    "OBSERVATIONS",
    "SMOKING_CODES",
    "ConditionCodes",
    "ElectiveProcedure",
    "Observation",
    "snomed_valid",
]


@dataclass(frozen=True)
class ConditionCodes:
    key: str
    label: str
    snomed: str
    snomed_display: str
    icd10: str
    """Code used when the condition is a secondary diagnosis on a hospital spell."""
    icd10_death: str
    emergency: tuple[tuple[str, float], ...]
    """Primary diagnoses (ICD-10, weight) of emergency admissions caused by the condition."""
    medication: tuple[str, str] | None
    treatment_function: str
    """Outpatient treatment function code of the specialty that follows the condition."""


CONDITIONS: tuple[ConditionCodes, ...] = (
    ConditionCodes(
        "hypertension",
        "Hypertension",
        "38341003",
        "Hypertensive disorder",
        "I10",
        "I11.9",
        (("I10", 0.3), ("R55", 0.4), ("R51", 0.3)),
        ("386864001", "Amlodipine"),
        "300",
    ),
    ConditionCodes(
        "diabetes",
        "Type 2 diabetes",
        "44054006",
        "Type 2 diabetes mellitus",
        "E11.9",
        "E11.9",
        (("E11.6", 0.4), ("E16.2", 0.3), ("E11.5", 0.3)),
        ("109081006", "Metformin"),
        "307",
    ),
    ConditionCodes(
        "copd",
        "COPD",
        "13645005",
        "Chronic obstructive lung disease",
        "J44.9",
        "J44.9",
        (("J44.1", 0.5), ("J44.0", 0.35), ("J18.9", 0.15)),
        ("372897005", "Salbutamol"),
        "340",
    ),
    ConditionCodes(
        "asthma",
        "Asthma",
        "195967001",
        "Asthma",
        "J45.9",
        "J45.9",
        (("J45.9", 0.6), ("J45.0", 0.2), ("J18.9", 0.2)),
        ("116574000", "Beclometasone"),
        "340",
    ),
    ConditionCodes(
        "chd",
        "Coronary heart disease",
        "53741008",
        "Coronary arteriosclerosis",
        "I25.1",
        "I25.1",
        (("I21.9", 0.35), ("I20.0", 0.35), ("R07.4", 0.3)),
        ("373444002", "Atorvastatin"),
        "320",
    ),
    ConditionCodes(
        "heart_failure",
        "Heart failure",
        "84114007",
        "Heart failure",
        "I50.9",
        "I50.9",
        (("I50.0", 0.7), ("I50.9", 0.3)),
        ("387475002", "Furosemide"),
        "320",
    ),
    ConditionCodes(
        "af",
        "Atrial fibrillation",
        "49436004",
        "Atrial fibrillation",
        "I48.9",
        "I48.9",
        (("I48.9", 0.8), ("R00.0", 0.2)),
        ("698090000", "Apixaban"),
        "320",
    ),
    ConditionCodes(
        "stroke",
        "Stroke",
        "230690007",
        "Cerebrovascular accident",
        "I69.3",
        "I63.9",
        (("I63.9", 0.6), ("G45.9", 0.4)),
        ("386952008", "Clopidogrel"),
        "328",
    ),
    ConditionCodes(
        "ckd",
        "Chronic kidney disease",
        "709044004",
        "Chronic kidney disease",
        "N18.3",
        "N18.5",
        (("N17.9", 0.6), ("N39.0", 0.4)),
        ("386872004", "Ramipril"),
        "361",
    ),
    ConditionCodes(
        "cancer",
        "Cancer",
        "363346000",
        "Malignant neoplastic disease",
        "C80.9",
        "C80.9",
        (("SITE", 0.6), ("J18.9", 0.2), ("R50.9", 0.2)),
        None,
        "370",
    ),
    ConditionCodes(
        "dementia",
        "Dementia",
        "52448006",
        "Dementia",
        "F03",
        "G30.9",
        (("F05.1", 0.3), ("N39.0", 0.35), ("R41.0", 0.15), ("S72.0", 0.1), ("J18.9", 0.1)),
        None,
        "430",
    ),
    ConditionCodes(
        "depression",
        "Depression",
        "35489007",
        "Depressive disorder",
        "F32.9",
        "X70",
        (("T39.1", 0.5), ("F32.9", 0.3), ("R45.8", 0.2)),
        ("372594008", "Sertraline"),
        "300",
    ),
    ConditionCodes(
        "smi",
        "Severe mental illness",
        "58214004",
        "Schizophrenia",
        "F20.9",
        "X70",
        (("SMI", 0.5), ("T39.1", 0.2), ("R45.1", 0.3)),
        ("386849001", "Olanzapine"),
        "300",
    ),
)
CONDITION_INDEX = {c.key: i for i, c in enumerate(CONDITIONS)}

SMI_BIPOLAR = ("13746004", "Bipolar disorder", "F31.9")
"""30% of people with severe mental illness have bipolar disorder rather than schizophrenia."""

CANCER_SITES: tuple[tuple[str, str, float, float], ...] = (
    # ICD-10, label, weight for women, weight for men
    ("C50.9", "breast", 0.30, 0.0),
    ("C61", "prostate", 0.0, 0.28),
    ("C34.9", "lung", 0.12, 0.13),
    ("C18.9", "colon", 0.11, 0.12),
    ("C43.9", "melanoma", 0.07, 0.07),
    ("C67.9", "bladder", 0.03, 0.07),
    ("C80.9", "other", 0.37, 0.33),
)

GENERAL_EMERGENCY: dict[str, tuple[tuple[str, float], ...]] = {
    "child": (
        ("J21.9", 0.15),
        ("J06.9", 0.2),
        ("A09.9", 0.15),
        ("R50.9", 0.15),
        ("S06.0", 0.1),
        ("R10.4", 0.1),
        ("J18.9", 0.05),
        ("K35.8", 0.1),
    ),
    "adult": (
        ("R07.4", 0.16),
        ("R10.4", 0.16),
        ("N39.0", 0.08),
        ("L03.1", 0.08),
        ("K35.8", 0.06),
        ("K80.2", 0.06),
        ("J18.9", 0.08),
        ("S52.5", 0.05),
        ("G40.9", 0.04),
        ("R55", 0.06),
        ("A41.9", 0.04),
        ("K92.2", 0.04),
        ("I26.9", 0.03),
        ("T39.1", 0.06),
    ),
    "older": (
        ("J18.9", 0.2),
        ("N39.0", 0.16),
        ("S72.0", 0.1),
        ("R55", 0.1),
        ("A41.9", 0.08),
        ("R41.0", 0.06),
        ("E87.1", 0.06),
        ("R29.6", 0.08),
        ("L03.1", 0.06),
        ("R07.4", 0.1),
    ),
}
FRAILTY_EMERGENCY: tuple[tuple[str, float], ...] = (
    ("R29.6", 0.3),
    ("S72.0", 0.12),
    ("N39.0", 0.25),
    ("R41.0", 0.15),
    ("J18.9", 0.18),
)
EMERGENCY_PROCEDURES: dict[str, str] = {
    "S72.0": "W46.1|Z94.1",
    "K35.8": "H01.1",
    "K80.2": "J18.3",
    "I21.9": "K75.1",
    "K92.2": "G45.1",
    "S52.5": "W19.1",
    "I63.9": "U05.1",
    "S06.0": "U05.1",
    "R55": "U05.1",
}


@dataclass(frozen=True)
class ElectiveProcedure:
    procedures: str
    diagnosis: str
    min_age: float
    max_age: float
    sex: str  # "M", "F" or "" for both
    treatment_function: str
    cost: float
    inpatient_share: float
    weight: float


ELECTIVE_PROCEDURES: tuple[ElectiveProcedure, ...] = (
    ElectiveProcedure("C71.2|C75.1", "H25.9", 55, 110, "", "130", 900.0, 0.02, 0.22),
    ElectiveProcedure("W37.1|Z94.1", "M16.9", 55, 100, "", "110", 6500.0, 0.97, 0.05),
    ElectiveProcedure("W40.1|Z94.2", "M17.9", 55, 100, "", "110", 6800.0, 0.97, 0.05),
    ElectiveProcedure("H22.1", "K57.3", 45, 95, "", "301", 600.0, 0.03, 0.12),
    ElectiveProcedure("H22.1|H20.1", "K62.1", 45, 95, "", "301", 750.0, 0.03, 0.05),
    ElectiveProcedure("G45.1", "K21.9", 30, 95, "", "301", 550.0, 0.02, 0.10),
    ElectiveProcedure("T20.1", "K40.9", 18, 95, "M", "100", 2200.0, 0.15, 0.06),
    ElectiveProcedure("J18.3", "K80.2", 20, 90, "", "100", 3500.0, 0.35, 0.05),
    ElectiveProcedure("M45.9", "N32.9", 40, 100, "", "101", 700.0, 0.05, 0.07),
    ElectiveProcedure("M65.3", "N40", 60, 100, "M", "101", 3000.0, 0.9, 0.03),
    ElectiveProcedure("A65.1", "G56.0", 30, 90, "", "110", 1100.0, 0.01, 0.05),
    ElectiveProcedure("Q07.4", "D25.9", 35, 60, "F", "502", 4000.0, 0.95, 0.03),
    ElectiveProcedure("F34.4", "J35.0", 3, 30, "", "120", 1800.0, 0.3, 0.04),
    ElectiveProcedure("S06.9", "D23.9", 18, 100, "", "330", 500.0, 0.0, 0.06),
    ElectiveProcedure("F09.1", "K01.1", 18, 35, "", "140", 800.0, 0.05, 0.02),
)
CHEMOTHERAPY = ElectiveProcedure("X72.9", "SITE", 0, 120, "", "370", 400.0, 0.0, 0.0)
PCI = ElectiveProcedure("K75.1", "I25.1", 30, 100, "", "320", 4500.0, 0.5, 0.0)
DELIVERY = (
    # procedures, diagnosis, weight, cost, length of stay range
    ("R24.9", "O80.0", 0.62, 2500.0),
    ("R17.9", "O82.0", 0.14, 4500.0),
    ("R18.9", "O82.1", 0.24, 5000.0),
)
POSTNATAL = ("", "O86.4", 1200.0)

APC_DESTINATIONS_OLDER: tuple[tuple[str, float], ...] = (
    ("19", 0.82),
    ("54", 0.04),
    ("85", 0.08),
    ("65", 0.03),
    ("29", 0.02),
    ("88", 0.01),
)

ECDS_COMPLAINTS: dict[str, tuple[tuple[str, float], ...]] = {
    # SNOMED CT chief complaints by age group
    "child": (
        ("386661006", 0.25),
        ("267036007", 0.15),
        ("422400008", 0.15),
        ("21522001", 0.1),
        ("271807003", 0.1),
        ("125605004", 0.1),
        ("1912002", 0.1),
        ("91175000", 0.05),
    ),
    "adult": (
        ("29857009", 0.2),
        ("21522001", 0.2),
        ("267036007", 0.1),
        ("25064002", 0.08),
        ("125605004", 0.12),
        ("1912002", 0.08),
        ("404640003", 0.06),
        ("22253000", 0.1),
        ("422400008", 0.06),
    ),
    "older": (
        ("1912002", 0.25),
        ("267036007", 0.2),
        ("29857009", 0.15),
        ("419284004", 0.1),
        ("21522001", 0.1),
        ("404640003", 0.1),
        ("125605004", 0.1),
    ),
}
COMPLAINT_FOR_DIAGNOSIS: dict[str, str] = {
    # ICD-10 category of the admitting diagnosis -> ECDS chief complaint
    "J44": "267036007",
    "J45": "267036007",
    "J18": "267036007",
    "I50": "267036007",
    "J21": "267036007",
    "I26": "267036007",
    "I21": "29857009",
    "I20": "29857009",
    "R07": "29857009",
    "I48": "29857009",
    "S72": "1912002",
    "R29": "1912002",
    "S52": "125605004",
    "S06": "125605004",
    "R10": "21522001",
    "K35": "21522001",
    "K80": "21522001",
    "K92": "21522001",
    "A09": "422400008",
    "F05": "419284004",
    "R41": "419284004",
    "I63": "419284004",
    "G45": "419284004",
    "R55": "404640003",
    "G40": "91175000",
    "R50": "386661006",
    "A41": "386661006",
    "L03": "271807003",
}
ECDS_DESTINATIONS: dict[str, str] = {
    "home": "306689006",
    "ward": "306706006",
    "residential_home": "306691003",
    "nursing_home": "306694006",
    "transfer": "19712007",
    "ambulatory": "1066331000000109",
}


@dataclass(frozen=True)
class Observation:
    snomed: str
    display: str
    unit: str
    """UCUM unit."""
    decimals: int


OBSERVATIONS: dict[str, Observation] = {
    "systolic": Observation("271649006", "Systolic blood pressure", "mm[Hg]", 0),
    "diastolic": Observation("271650006", "Diastolic blood pressure", "mm[Hg]", 0),
    "hba1c": Observation(
        "999791000000106", "Haemoglobin A1c level - IFCC standardised", "mmol/mol", 0
    ),
    "egfr": Observation(
        "1011481000000105",
        "eGFR (estimated glomerular filtration rate) using creatinine "
        "CKD-EPI equation per 1.73 square metres",
        "mL/min/{1.73_m2}",
        0,
    ),
    "bmi": Observation("60621009", "Body mass index", "kg/m2", 1),
    "weight": Observation("27113001", "Body weight", "kg", 1),
    "pefr": Observation("29893006", "Peak expiratory flow rate", "L/min", 0),
}

FRAILTY_CODES: tuple[tuple[str, str], ...] = (
    ("925791000000100", "Mild frailty"),
    ("925831000000107", "Moderate frailty"),
    ("925861000000102", "Severe frailty"),
)
SMOKING_CODES: tuple[tuple[str, str], ...] = (
    ("266919005", "Never smoked tobacco"),
    ("8517006", "Ex-smoker"),
    ("77176002", "Smoker"),
)
ISOLATION_CODE = ("422650009", "Social isolation")
HOUSEBOUND_CODE = ("160689007", "Housebound")
ENCOUNTER_TYPE = ("390906007", "Follow-up encounter")

ETHNIC_CODES: tuple[str, ...] = (
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "J",
    "K",
    "L",
    "M",
    "N",
    "P",
    "R",
    "S",
)
"""NHS ethnic category codes (Z, not stated, is added by the recording process)."""
ETHNIC_ORIGIN: dict[str, str] = {
    "A": "british",
    "B": "british",
    "C": "east_european",
    "D": "british",
    "E": "british",
    "F": "british",
    "G": "british",
    "H": "south_asian",
    "J": "south_asian",
    "K": "south_asian",
    "L": "south_asian",
    "M": "british",
    "N": "african",
    "P": "african",
    "R": "chinese",
    "S": "british",
}
ETHNIC_MINORITY_MIX: dict[str, float] = {
    # England 2021 shares of the non-white-British population (roughly)
    "B": 0.035,
    "C": 0.24,
    "D": 0.03,
    "E": 0.012,
    "F": 0.03,
    "G": 0.03,
    "H": 0.125,
    "J": 0.1,
    "K": 0.04,
    "L": 0.065,
    "M": 0.04,
    "N": 0.1,
    "P": 0.02,
    "R": 0.03,
    "S": 0.08,
}

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)


def _verhoeff_p() -> tuple[tuple[int, ...], ...]:
    rows = [tuple(range(10)), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)]
    for _ in range(6):
        rows.append(tuple(rows[-1][rows[1][j]] for j in range(10)))
    return tuple(rows)


_VERHOEFF_P = _verhoeff_p()


def snomed_valid(code: str) -> bool:
    """True when ``code`` is shaped like a SNOMED CT identifier with a good check digit."""
    if not code.isdigit() or not 6 <= len(code) <= 18 or code[0] == "0":
        return False
    check = 0
    for i, ch in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0
