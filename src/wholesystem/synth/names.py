"""Name frequency lists, nicknames and deterministic typo variants, as data.

The lists are plausible, not official: relative frequencies are rounded from the
shapes of published UK name statistics (ONS baby names by decade, surname counts),
grouped by the origin a household's ethnicity suggests, and for British given names
by birth cohort. A person's name is an index into a *vocabulary*; every recorded
form of a name (canonical, one of :data:`TYPO_VARIANTS` typo variants, upper case)
is another index into a flat array of strings, so building millions of name cells
is a single ``take``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "COHORT_BOUNDS",
    "GIVEN",
    "NICKNAMES",
    "ORIGINS",
    "SURNAMES",
    "TYPO_VARIANTS",
    "NameTable",
    "Vocabulary",
    "given_table",
    "nickname_of",
    "surname_table",
]

ORIGINS: tuple[str, ...] = ("british", "south_asian", "east_european", "african", "chinese")
COHORT_BOUNDS: tuple[int, ...] = (1960, 1990)
"""British given names come from three birth cohorts: before 1960, 1960-1989, 1990 on."""
TYPO_VARIANTS = 3

# --- given names: "Name weight" pairs --------------------------------------------------------

_GIVEN_RAW: dict[tuple[str, str, int], str] = {
    ("british", "M", 0): """
        John 60 David 45 Michael 40 Peter 35 Robert 30 William 30 James 30 Brian 25 Anthony 22
        Alan 22 Kenneth 20 Roy 15 Ronald 15 Derek 14 Raymond 14 Keith 14 Colin 14 Geoffrey 12
        Dennis 12 Thomas 15 Richard 20 Christopher 12 Stephen 10 Barry 10 George 15
        Frederick 8 Albert 6 Harold 8 Leonard 6 Norman 10 Terence 10 Trevor 8 Graham 10
        Malcolm 8 Gordon 8 Ian 10 Edward 10 Arthur 8 Stanley 6 Donald 7 Charles 12 Francis 5
        Gerald 5 Bernard 5 Patrick 6 Douglas 5 Philip 8 Roger 8 Martin 6 Frank 7 Eric 7
        Ernest 5 Walter 4 Joseph 8 Henry 5 Samuel 3 Harry 5 Lawrence 4 Gregory 3 Timothy 4
    """,
    ("british", "F", 0): """
        Margaret 50 Patricia 35 Mary 35 Jean 30 Susan 25 Christine 25 Elizabeth 25 Barbara 25
        Linda 20 Janet 20 Sheila 18 Ann 20 Pauline 15 Valerie 15 Sandra 15 Joan 18 Dorothy 15
        Kathleen 15 Doreen 10 Brenda 12 Maureen 15 Irene 10 Eileen 10 Joyce 10 Marion 8
        Gillian 10 Carol 15 Jennifer 12 Pamela 12 Shirley 12 June 10 Rita 8 Sylvia 8 Betty 8
        Edna 6 Evelyn 6 Hilda 5 Vera 6 Elsie 6 Gladys 5 Lilian 5 Florence 5 Josephine 6
        Rosemary 8 Judith 8 Julie 6 Catherine 8 Anne 12 Helen 8 Diane 8 Wendy 8 Lesley 6
        Deborah 5 Veronica 5 Audrey 6 Beryl 5 Norma 5 Frances 5 Katherine 5 Christina 4
    """,
    ("british", "M", 1): """
        David 40 Paul 40 Mark 40 Andrew 35 Michael 30 Richard 25 Stephen 25 Christopher 30
        Ian 20 Robert 20 Simon 20 Gary 20 Darren 18 Neil 15 Lee 15 Jason 15 Steven 18
        Matthew 20 Daniel 18 James 25 John 20 Peter 12 Anthony 12 Martin 12 Craig 12 Wayne 10
        Dean 10 Carl 10 Philip 10 Kevin 15 Nicholas 12 Jonathan 12 Timothy 8 Adam 10 Scott 10
        Thomas 12 William 10 Benjamin 6 Alexander 6 Gareth 8 Stuart 10 Graham 8 Jamie 8
        Ryan 6 Liam 6 Shaun 6 Russell 6 Karl 5 Marc 5 Gavin 6 Glen 4 Sean 6 Barry 5 Joseph 6
        Edward 5 Samuel 4 Gregory 3 Raymond 3
    """,
    ("british", "F", 1): """
        Sarah 35 Claire 30 Nicola 30 Emma 30 Lisa 30 Julie 25 Karen 25 Michelle 25 Helen 25
        Joanne 20 Louise 20 Rachel 20 Kelly 18 Amanda 18 Samantha 15 Tracey 18 Donna 12
        Deborah 12 Alison 15 Susan 15 Elizabeth 12 Catherine 12 Jennifer 10 Rebecca 15
        Laura 15 Victoria 12 Jane 12 Gemma 10 Natalie 10 Katherine 10 Hannah 8 Amy 10 Zoe 8
        Kerry 8 Sharon 12 Dawn 10 Angela 12 Caroline 10 Joanna 6 Anna 6 Stephanie 8
        Charlotte 8 Lucy 8 Kate 6 Jessica 6 Sophie 4 Lindsey 5 Jacqueline 8 Tina 6 Wendy 5
        Sally 5 Andrea 6 Carly 4 Leanne 6 Jodie 4 Alexandra 4 Christine 4 Margaret 3
    """,
    ("british", "M", 2): """
        Oliver 30 Jack 35 Harry 30 George 25 Noah 15 Charlie 25 Jacob 20 Thomas 30 Oscar 15
        William 25 James 30 Joshua 30 Daniel 20 Samuel 20 Alfie 18 Leo 15 Freddie 15
        Archie 15 Henry 12 Ethan 20 Joseph 15 Lewis 15 Max 12 Isaac 10 Dylan 12 Logan 8
        Lucas 10 Mason 10 Theo 10 Arthur 10 Alexander 12 Benjamin 12 Luke 15 Matthew 15
        Ryan 15 Callum 12 Connor 12 Liam 10 Adam 12 Tyler 8 Jake 10 Kieran 8 Jamie 10
        Nathan 12 Bradley 8 Reece 6 Toby 8 Sebastian 6 Finley 8 Riley 6 Elliot 6 Louis 8
        Edward 8 Frederick 4 Theodore 6 Zachary 6 Nathaniel 3 Archibald 2 Christopher 6
        Jonathan 4 Michael 6 Robert 3 Richard 3
    """,
    ("british", "F", 2): """
        Olivia 30 Amelia 28 Isla 20 Ava 20 Emily 30 Sophie 25 Grace 20 Mia 18 Poppy 15
        Ella 18 Lily 20 Evie 15 Isabella 15 Sophia 12 Jessica 25 Chloe 25 Lucy 18 Hannah 20
        Charlotte 22 Megan 20 Lauren 20 Ellie 18 Holly 12 Katie 15 Emma 12 Amy 15 Rebecca 15
        Bethany 12 Georgia 12 Abigail 10 Freya 12 Florence 8 Matilda 8 Harriet 6 Eleanor 8
        Isabelle 8 Phoebe 8 Millie 10 Daisy 10 Ruby 12 Scarlett 10 Evelyn 8 Rosie 8
        Alice 10 Zara 6 Maisie 8 Molly 12 Jasmine 10 Leah 10 Niamh 6 Erin 8 Paige 8
        Courtney 6 Rachel 6 Natasha 4 Elizabeth 6 Victoria 5 Samantha 4 Katherine 4
        Alexandra 3 Jennifer 3
    """,
    ("south_asian", "M", -1): """
        Mohammed 30 Muhammad 25 Ali 12 Ahmed 12 Hassan 8 Hussain 8 Imran 10 Asif 8 Tariq 6
        Zahid 5 Arjun 8 Rahul 8 Raj 8 Sanjay 8 Vijay 6 Amit 8 Ravi 8 Sunil 6 Harpreet 5
        Gurpreet 5 Jaswinder 5 Kuldip 4 Sandeep 6 Ajay 5 Deepak 6 Rohan 5 Aarav 5 Ibrahim 8
        Yusuf 8 Omar 8 Bilal 6 Hamza 8 Zain 6 Ayaan 5 Abdul 10 Shahid 5 Nadeem 5 Faisal 5
    """,
    ("south_asian", "F", -1): """
        Fatima 20 Aisha 15 Ayesha 10 Maryam 12 Zainab 10 Amina 8 Nadia 8 Sana 8 Saima 6
        Shazia 6 Rubina 5 Nasreen 6 Parveen 6 Shabana 5 Priya 10 Anjali 8 Neha 6 Pooja 6
        Sunita 8 Anita 8 Kiran 8 Manjit 5 Harjit 4 Jaspreet 5 Simran 6 Meera 5 Asha 6
        Rekha 5 Sita 4 Hafsa 6 Khadija 6 Iqra 5 Mariam 5 Zara 6 Noor 5 Alisha 5 Yasmin 8
    """,
    ("east_european", "M", -1): """
        Piotr 12 Tomasz 10 Pawel 10 Krzysztof 8 Marcin 8 Michal 8 Lukasz 8 Jakub 8 Adam 6
        Andrzej 6 Marek 6 Mateusz 6 Kamil 6 Bartosz 5 Andrei 6 Ionut 5 Alexandru 6 Mihai 6
        Florin 4 Darius 4 Tomas 5 Mantas 4 Jonas 4 Janis 3
    """,
    ("east_european", "F", -1): """
        Anna 12 Katarzyna 10 Agnieszka 10 Magdalena 8 Joanna 8 Monika 8 Aleksandra 6
        Natalia 6 Marta 6 Ewa 6 Karolina 6 Paulina 5 Justyna 5 Elena 6 Ioana 5 Andreea 5
        Maria 6 Alina 5 Irina 4 Laura 4 Ruta 3 Egle 3 Inga 3 Kristina 4
    """,
    ("african", "M", -1): """
        Emmanuel 10 Samuel 8 Daniel 8 David 8 Joseph 6 Michael 6 Oluwaseun 5 Chinedu 5
        Tunde 5 Kwame 5 Kofi 5 Yaw 4 Abdi 6 Mohamed 8 Ahmed 5 Tendai 4 Tafadzwa 4
        Godfrey 3 Peter 4 John 5 Ibrahim 4 Ifeanyi 3 Babatunde 3 Olumide 3 Isaac 4
    """,
    ("african", "F", -1): """
        Grace 10 Mercy 6 Blessing 8 Faith 6 Joy 6 Esther 6 Ruth 5 Abena 5 Ama 5 Adwoa 4
        Chioma 5 Ngozi 5 Folake 4 Funmilayo 4 Amina 5 Hodan 4 Fadumo 4 Nyasha 4 Rutendo 3
        Precious 5 Patience 4 Comfort 4 Deborah 4 Mary 5
    """,
    ("chinese", "M", -1): """
        Wei 6 Jun 5 Ming 5 Hao 4 Jian 4 Lei 4 Kai 3 Yang 3 Jie 4 Kwok 3 Wing 3 Hong 3
        Cheng 3 Daniel 4 Kevin 4 Jason 3
    """,
    ("chinese", "F", -1): """
        Mei 6 Li 5 Xin 4 Ying 5 Hui 4 Yan 4 Jing 5 Lin 4 Fang 3 Xiao 4 Ling 4 Wai 3 Man 3
        Amy 4 Grace 3 Joyce 3
    """,
}

_SURNAME_RAW: dict[str, str] = {
    "british": """
        Smith 1200 Jones 900 Williams 700 Taylor 600 Brown 580 Davies 500 Evans 420 Wilson 400
        Thomas 380 Johnson 370 Roberts 360 Robinson 330 Thompson 330 Wright 320 Walker 320
        White 310 Edwards 300 Hughes 300 Green 290 Hall 290 Lewis 280 Harris 280 Clarke 275
        Jackson 270 Wood 260 Turner 255 Martin 250 Cooper 250 Hill 245 Ward 240 Morris 240
        Moore 235 Clark 235 Lee 230 King 230 Baker 225 Harrison 220 Morgan 220 Allen 215
        James 210 Scott 210 Phillips 205 Watson 205 Davis 200 Parker 200 Price 195
        Bennett 190 Young 190 Griffiths 185 Mitchell 185 Kelly 180 Cook 180 Carter 180
        Richardson 175 Bailey 175 Collins 170 Bell 170 Shaw 170 Murphy 165 Miller 165
        Cox 160 Richards 160 Marshall 155 Anderson 155 Simpson 150 Ellis 150 Adams 150
        Wilkinson 145 Foster 140 Chapman 140 Powell 140 Webb 140 Rogers 140 Gray 135
        Mason 135 Hunt 130 Campbell 130 Matthews 130 Owen 125 Palmer 125 Holmes 125
        Mills 120 Barnes 120 Knight 120 Lloyd 120 Butler 120 Russell 118 Barker 115
        Fisher 115 Stevens 115 Jenkins 115 Murray 112 Dixon 112 Harvey 110 Graham 110
        Pearson 110 Fletcher 105 Walsh 105 Gibson 102 Howard 102 Andrews 100 Stewart 100
        Elliott 100 Reynolds 98 Saunders 98 Payne 96 Fox 95 Ford 95 Pearce 94 Day 93
        Brooks 92 West 92 Lawrence 91 Cole 90 Atkinson 90 Bradley 89 Spencer 88 Dawson 86
        Ball 85 Burton 85 O'Brien 84 Watts 83 Rose 82 Booth 81 Perry 80 Ryan 80 Grant 79
        Wells 78 Armstrong 78 Francis 77 Rees 77 Hayes 76 Hart 76 Hudson 75 Newman 75
        Barrett 74 Webster 74 Hunter 73 Gregory 73 Carr 72 Lowe 72 Page 71 Marsh 70
        Riley 70 Dunn 70 Woods 69 Parsons 69 Berry 68 Stone 68 Reid 67 Holland 67
        Hawkins 66 Harding 66 Porter 65 Robertson 65 Newton 64 Oliver 64 Reed 63
        Kennedy 63 Williamson 62 Bird 62 Gardner 61 Dean 60 Lane 60 Cooke 59 Bates 59
        Henderson 58 Parry 58 Burgess 57 Bishop 57 Walton 56 Burns 56 Nicholson 55
        Shepherd 55 Ross 54 Cross 54 Long 53 Freeman 53 Warren 52 Nicholls 52 Hamilton 51
        Byrne 51 Sutton 50 McDonald 50 Yates 49 Hodgson 49 Robson 48 Curtis 48 Hopkins 47
        O'Connor 47 Harper 46 Coleman 46 Watkins 45 Moss 45 McCarthy 44 Chambers 44
        O'Neill 43 Griffin 43 Sharp 42 Hardy 42 Wheeler 41 Potter 41 Osborne 40 Johnston 40
        Gordon 39 Doyle 39 Wallace 38 George 38 Jordan 37 Hutchinson 37 Rowe 36 Burke 36
        May 35 Pritchard 35 Gilbert 34 Willis 34 Higgins 33 Read 33 Miles 32 Stevenson 32
        Stephenson 31 Hammond 31 Arnold 30 Buckley 30 Walters 29 Hewitt 29 Barber 28
        Nelson 28 Slater 27 Austin 27 Sullivan 26 Whitehead 26 Mann 25 Frost 25 Lambert 24
        Stephens 24 Blake 23 Lynch 23 Goodwin 22 Barton 22 Woodward 21 Thomson 21
        Cunningham 20 Quinn 20 Barnett 20 Baxter 19 Clayton 19 Nash 18 Greenwood 18
        Jennings 18 Holt 17 Kemp 17 Poole 16 Gallagher 16 Bond 16 Stokes 15 Tucker 15
        Davidson 15 Fowler 15 Heath 14 Norman 14 Middleton 14 Lawson 13 Banks 13 French 13
        Stanley 12 Jarvis 12 Gibbs 12 Ferguson 12 Hayward 11 Carroll 11 Douglas 11 Hicks 10
        Fuller 10 Bryant 10 Davey 10 Boyle 9 Pugh 9 Brennan 9 Rhodes 9 Ashton 8 Chadwick 8
        Winter 8 Hooper 8 Fleming 8 Hale 7 Doherty 7 Pickering 7 Lord 7 Kirby 6 Flynn 6
        Metcalfe 6 Pratt 6 Clements 6 Baldwin 6 Smith-Jones 3 Lloyd-Davies 2
    """,
    "south_asian": """
        Patel 250 Khan 200 Ali 150 Hussain 130 Singh 150 Kaur 110 Ahmed 120 Begum 100 Shah 60
        Akhtar 50 Bibi 40 Iqbal 40 Mahmood 35 Rahman 40 Islam 30 Miah 30 Uddin 25
        Chowdhury 20 Sharma 30 Kumar 25 Gill 30 Sandhu 20 Sidhu 15 Mistry 20 Parmar 20
        Chauhan 15 Joshi 10 Mehta 10 Desai 10 Rana 10 Malik 25 Qureshi 15 Butt 20 Bhatti 15
        Raja 12 Anwar 12 Aslam 12 Riaz 10 Nawaz 10 Hassan 15
    """,
    "east_european": """
        Nowak 20 Kowalski 12 Kowalska 8 Wisniewski 10 Wojcik 10 Kaminski 8 Lewandowski 8
        Zielinski 8 Szymanski 7 Wozniak 8 Dabrowski 6 Kozlowski 6 Jankowski 6 Mazur 8
        Krawczyk 6 Popescu 10 Ionescu 6 Popa 6 Dumitru 5 Stan 5 Kazlauskas 5 Jankauskas 4
        Petrauskas 4 Berzins 3 Horvath 4 Novak 6
    """,
    "african": """
        Okafor 8 Okonkwo 6 Adeyemi 8 Adebayo 8 Oluwole 5 Mensah 8 Owusu 8 Boateng 7
        Asante 6 Osei 7 Mohamed 12 Abdi 8 Hassan 5 Farah 6 Mohamud 5 Moyo 6 Ndlovu 5
        Banda 4 Phiri 4 Mwangi 4 Otieno 3 Okeke 5 Eze 5 Nwosu 4 Campbell 4 Williams 4
        Johnson 3 Thomas 3
    """,
    "chinese": """
        Chen 10 Wang 10 Li 10 Zhang 8 Liu 8 Wong 10 Chan 10 Cheung 6 Lam 6 Lau 6 Leung 5
        Ng 6 Ho 5 Yang 5 Huang 5 Zhao 4 Wu 5 Lin 4 Tang 4 Yip 3
    """,
}

NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Richard": ("Rich", "Dick", "Richie"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Thomas": ("Tom", "Tommy"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "Christopher": ("Chris",),
    "Anthony": ("Tony",),
    "Joseph": ("Joe", "Joey"),
    "Edward": ("Ed", "Ted", "Eddie"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate", "Cath"),
    "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam",),
    "Alexander": ("Alex", "Sandy"),
    "Alexandra": ("Alex", "Lexie"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Benjamin": ("Ben",),
    "Jonathan": ("Jon", "Jonny"),
    "Nicholas": ("Nick",),
    "Patricia": ("Pat", "Trish", "Patsy"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Victoria": ("Vicky", "Tori"),
    "Charlotte": ("Charlie", "Lottie"),
    "Frederick": ("Fred", "Freddie"),
    "Albert": ("Bert", "Albie"),
    "Harold": ("Harry",),
    "Henry": ("Harry", "Hal"),
    "Dorothy": ("Dot", "Dolly"),
    "Kenneth": ("Ken", "Kenny"),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Peter": ("Pete",),
    "David": ("Dave", "Davy"),
    "Andrew": ("Andy", "Drew"),
    "Jacqueline": ("Jackie",),
    "Christine": ("Chris", "Chrissie"),
    "Christina": ("Tina", "Chris"),
    "Barbara": ("Babs", "Barb"),
    "Josephine": ("Jo", "Josie"),
    "Joanne": ("Jo",),
    "Joanna": ("Jo",),
    "Gillian": ("Gill", "Jill"),
    "Pamela": ("Pam",),
    "Sandra": ("Sandy",),
    "Timothy": ("Tim",),
    "Gregory": ("Greg",),
    "Philip": ("Phil",),
    "Terence": ("Terry",),
    "Lawrence": ("Larry", "Laurie"),
    "Raymond": ("Ray",),
    "Ronald": ("Ron", "Ronnie"),
    "Donald": ("Don",),
    "Leonard": ("Len", "Lenny"),
    "Gerald": ("Gerry",),
    "Bernard": ("Bernie",),
    "Stanley": ("Stan",),
    "Samuel": ("Sam", "Sammy"),
    "Oliver": ("Ollie",),
    "Harriet": ("Hattie",),
    "Eleanor": ("Ellie", "Nell"),
    "Isabella": ("Bella", "Izzy"),
    "Isabelle": ("Izzy",),
    "Abigail": ("Abby", "Abi"),
    "Olivia": ("Liv",),
    "Jessica": ("Jess", "Jessie"),
    "Amelia": ("Millie",),
    "Emily": ("Em", "Emmy"),
    "Florence": ("Flo",),
    "Matilda": ("Tilly",),
    "Theodore": ("Theo", "Ted"),
    "Archibald": ("Archie",),
    "Zachary": ("Zach",),
    "Nathaniel": ("Nate", "Nat"),
    "Jacob": ("Jake",),
    "Charles": ("Charlie", "Chuck"),
    "Frances": ("Fran",),
    "Francis": ("Frank",),
    "Arthur": ("Art",),
    "Douglas": ("Doug",),
    "Gordon": ("Gordy",),
    "Valerie": ("Val",),
    "Kathleen": ("Kath", "Kathy"),
    "Judith": ("Judy",),
    "Rosemary": ("Rosie",),
    "Caroline": ("Caz", "Carrie"),
    "Stephanie": ("Steph",),
    "Natalie": ("Nat",),
    "Natasha": ("Tash",),
    "Rachel": ("Rach",),
    "Mohammed": ("Mo",),
    "Muhammad": ("Mo",),
    "Katarzyna": ("Kasia",),
    "Aleksandra": ("Ola",),
    "Magdalena": ("Magda",),
    "Emmanuel": ("Manny",),
}

# Letters next to each other on a UK keyboard, for substitution typos.
_KEYBOARD = {
    "a": "qsz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "wa",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


def _parse(raw: str) -> list[tuple[str, float]]:
    tokens = raw.split()
    pairs = [(tokens[i], float(tokens[i + 1])) for i in range(0, len(tokens), 2)]
    merged: dict[str, float] = {}
    for name, weight in pairs:
        merged[name] = merged.get(name, 0.0) + weight
    return sorted(merged.items())


def _typos(name: str, rng: np.random.Generator) -> list[str]:
    """``TYPO_VARIANTS`` distinct misspellings of ``name`` (deterministic for a given rng)."""
    out: list[str] = []
    attempts = 0
    while len(out) < TYPO_VARIANTS and attempts < 200:
        attempts += 1
        letters = list(name)
        # never touch the first letter (people rarely mistype it) unless the name is tiny
        lo = 1 if len(letters) > 2 else 0
        pos = int(rng.integers(lo, len(letters)))
        op = int(rng.integers(0, 4))
        ch = letters[pos]
        if op == 0 and ch.lower() in _KEYBOARD:  # adjacent-key substitution
            options = _KEYBOARD[ch.lower()]
            new = options[int(rng.integers(0, len(options)))]
            letters[pos] = new.upper() if ch.isupper() else new
        elif op == 1 and len(letters) > 3 and ch.isalpha():  # deletion
            del letters[pos]
        elif op == 2 and ch.isalpha():  # doubled letter
            letters.insert(pos, ch.lower() if pos > 0 else ch)
        elif op == 3 and pos + 1 < len(letters) and letters[pos + 1].isalpha():  # transposition
            letters[pos], letters[pos + 1] = letters[pos + 1], letters[pos]
        else:
            continue
        candidate = "".join(letters)
        if candidate != name and candidate not in out and candidate[:1].isupper():
            out.append(candidate)
    while len(out) < TYPO_VARIANTS:  # pathological tiny names: pad with a doubled last letter
        out.append(name + name[-1].lower() * (len(out) + 1))
    return out


class Vocabulary:
    """Names, their typo variants and upper-case forms as one flat string array.

    Form index of base name ``b``, variant ``v`` (0 = as spelt, 1..K = typos) and case
    ``u`` (0 = as spelt, 1 = upper) is ``u * n * (K + 1) + b * (K + 1) + v``.
    """

    def __init__(self, names: list[str], seed: int) -> None:
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        rng = np.random.default_rng(seed)
        forms: list[str] = []
        for name in names:
            forms.append(name)
            forms.extend(_typos(name, rng))
        upper = [f.upper() for f in forms]
        self.n = len(names)
        self.stride = TYPO_VARIANTS + 1
        self.strings = pa.array(forms + upper, type=pa.string())
        for text in forms:
            if any(c in text for c in '",\\\n\r') or not text.isprintable():
                raise AssertionError(f"unsafe character in name {text!r}")

    def form(
        self,
        base: npt.NDArray[np.int64],
        variant: npt.NDArray[np.int64],
        upper: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.int64]:
        return (
            upper.astype(np.int64) * (self.n * self.stride) + base * self.stride + variant
        ).astype(np.int64)


@dataclass(frozen=True)
class NameTable:
    """One frequency list: vocabulary indices (alphabetical) and their probabilities."""

    idx: npt.NDArray[np.int64]
    prob: npt.NDArray[np.float64]

    def draw(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.int64]:
        return self.idx[rng.choice(len(self.idx), size=size, p=self.prob)]

    def neighbour(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The next name alphabetically in this table (for twins' similar names)."""
        pos = np.searchsorted(self.idx, idx)
        pos = np.clip(pos, 0, len(self.idx) - 1)
        nxt = (pos + 1) % len(self.idx)
        return self.idx[nxt]


def _build() -> tuple[
    Vocabulary,
    Vocabulary,
    dict[tuple[str, str, int], NameTable],
    dict[str, NameTable],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    given_lists = {key: _parse(raw) for key, raw in _GIVEN_RAW.items()}
    surname_lists = {key: _parse(raw) for key, raw in _SURNAME_RAW.items()}
    given_names = {n for lst in given_lists.values() for n, _ in lst}
    for full, nicks in NICKNAMES.items():
        given_names.add(full)
        given_names.update(nicks)
    gvocab = Vocabulary(sorted(given_names), seed=1_000_003)
    svocab = Vocabulary(
        sorted({n for lst in surname_lists.values() for n, _ in lst}), seed=1_000_033
    )

    def table(vocab: Vocabulary, pairs: list[tuple[str, float]]) -> NameTable:
        idx = np.array([vocab.index[n] for n, _ in pairs], dtype=np.int64)
        w = np.array([w for _, w in pairs], dtype=np.float64)
        order = np.argsort(idx)
        return NameTable(idx=idx[order], prob=(w / w.sum())[order])

    gtables = {key: table(gvocab, lst) for key, lst in given_lists.items()}
    stables = {key: table(svocab, lst) for key, lst in surname_lists.items()}
    # nickname lookup: for each given-name index, a start/count into a flat array
    starts = np.zeros(gvocab.n, dtype=np.int64)
    counts = np.zeros(gvocab.n, dtype=np.int64)
    flat: list[int] = []
    for i, name in enumerate(gvocab.names):
        nicks = NICKNAMES.get(name, ())
        starts[i] = len(flat)
        counts[i] = len(nicks)
        flat.extend(gvocab.index[n] for n in nicks)
    nick_flat = np.array(flat, dtype=np.int64)
    nick_table = np.stack([starts, counts], axis=1)
    return gvocab, svocab, gtables, stables, nick_table, nick_flat


GIVEN, SURNAMES, _GIVEN_TABLES, _SURNAME_TABLES, NICK_TABLE, NICK_FLAT = _build()


def given_table(origin: str, sex: str, cohort: int) -> NameTable:
    """Given-name frequencies for an origin, sex ("M"/"F") and cohort (0, 1, 2)."""
    if origin == "british":
        return _GIVEN_TABLES[(origin, sex, cohort)]
    return _GIVEN_TABLES[(origin, sex, -1)]


def surname_table(origin: str) -> NameTable:
    return _SURNAME_TABLES[origin]


def nickname_of(
    given: npt.NDArray[np.int64], u: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """A nickname for each given-name index (picked by ``u`` in [0, 1)) and whether one exists."""
    start = NICK_TABLE[given, 0]
    count = NICK_TABLE[given, 1]
    has = count > 0
    pick = start + np.minimum((u * np.maximum(count, 1)).astype(np.int64), np.maximum(count - 1, 0))
    out = np.where(has, NICK_FLAT[np.where(has, pick, 0)] if len(NICK_FLAT) else given, given)
    return out.astype(np.int64), has
