"""A general table of UK given-name nicknames, as data.

Each line is a formal name followed by the short forms and pet names people are commonly
recorded under in the UK. Ambiguous short forms (Alex, Chris, Sam, Jo) are listed under
every formal name they shorten; see :func:`canonical_given_names` for how they resolve.
"""

from __future__ import annotations

import unicodedata
from functools import cache

__all__ = ["NICKNAME_TABLE", "canonical_given_names", "plain_name"]

NICKNAME_TABLE = """
Abigail: Abby Abbie Abi Gail
Albert: Bert Bertie Albie Al
Alexander: Alex Alec Alexa Sandy Xander Sasha
Alexandra: Alex Alexa Lexie Sandra Sasha
Alfred: Alf Alfie Fred Freddie
Amanda: Mandy Manda
Amelia: Millie Milly Amy
Andrew: Andy Drew
Angela: Angie
Anthony: Tony Ant
Antonia: Toni
Archibald: Archie Archy
Arthur: Art Artie
Barbara: Babs Barb Barbie
Benjamin: Ben Benny Benji
Bernard: Bernie
Beverley: Bev
Bradley: Brad
Bridget: Biddy Bridie
Caroline: Caz Carrie Carol Caro
Catherine: Cathy Cath Kate Katie Cat Kay
Charles: Charlie Chas Chuck Chaz
Charlotte: Charlie Lottie Lotte
Christina: Tina Chris Chrissie Kirsty
Christine: Chris Chrissie Chrissy Tina
Christopher: Chris Kit Topher
Clifford: Cliff
Cynthia: Cindy
Daniel: Dan Danny
Danielle: Dani
David: Dave Davy Davey
Deborah: Debbie Deb Debra Debs
Dominic: Dom
Donald: Don Donny
Dorothy: Dot Dotty Dolly Dottie
Douglas: Doug Dougie
Edward: Ed Eddie Ted Teddy Ned
Eleanor: Ellie Nell Nellie Elly Nora
Elizabeth: Liz Lizzie Beth Betty Bet Bess Bessie Eliza Libby Lisa Elsie
Ellen: Nell
Emily: Em Emmy Millie
Emma: Em Emmy
Ernest: Ernie
Eugene: Gene
Florence: Flo Florrie
Frances: Fran Frankie Fanny
Francis: Frank Frankie
Frederick: Fred Freddie Freddy
Gabriel: Gabe
Gabrielle: Gabby Gabi
Geoffrey: Geoff Jeff
Gerald: Gerry Jerry Ged
Gillian: Gill Jill Gilly
Gregory: Greg
Gwendolen: Gwen
Harold: Harry Hal
Harriet: Hattie Hatty
Henry: Harry Hal Hank
Herbert: Herb Bert
Isabel: Izzy Bella Belle Isobel
Isabella: Bella Izzy Isabelle
Jacob: Jake Jakey
Jacqueline: Jackie Jacqui
James: Jim Jimmy Jamie Jimmie Jamey
Janet: Jan
Jennifer: Jen Jenny Jenni
Jessica: Jess Jessie
Joanna: Jo Joanne
Joanne: Jo Jojo
John: Jack Johnny Jon
Jonathan: Jon Jonny Johnny
Joseph: Joe Joey Jos
Josephine: Jo Josie Jose
Joshua: Josh
Judith: Judy Jude
Katherine: Kate Kathy Katie Kath Kathryn Kay Kitty
Kathleen: Kath Kathy Kay
Kenneth: Ken Kenny
Lawrence: Larry Laurie Laurence
Leonard: Len Lenny Leo
Lewis: Lew Lou
Louisa: Lou Lulu
Louise: Lou Lulu
Madeleine: Maddie Maddy
Margaret: Maggie Peggy Meg Madge Maisie Marge Margie Greta Rita
Martin: Marty
Matilda: Tilly Tillie Mattie
Matthew: Matt Matty
Michael: Mike Mick Micky Mikey Mickey
Mohammed: Mo Mohammad Muhammad Mohamed
Nathaniel: Nat Nate Nathan
Natalie: Nat Nattie
Natasha: Tash Tasha
Nicholas: Nick Nicky Nico
Nicola: Nicky Nikki
Oliver: Ollie Olly
Olivia: Liv Livvy Ollie
Pamela: Pam
Patricia: Pat Patty Trish Tricia Patsy
Patrick: Pat Paddy
Peter: Pete
Philip: Phil Pip Phillip
Rachel: Rach
Raymond: Ray
Rebecca: Becky Becca Bex
Richard: Rich Rick Ricky Dick Richie
Robert: Bob Bobby Rob Robbie
Ronald: Ron Ronnie
Rosemary: Rosie Rose
Russell: Russ
Samantha: Sam Sammy
Samuel: Sam Sammy
Sandra: Sandy
Sebastian: Seb
Stanley: Stan
Stephanie: Steph Stevie
Stephen: Steve Stevie Steven
Susan: Sue Susie Suzy Suzanne
Terence: Terry Tel
Theodore: Theo Ted Teddy
Thomas: Tom Tommy
Timothy: Tim Timmy
Valerie: Val
Victoria: Vicky Vicki Tori Vic
Vincent: Vince Vinny
Walter: Walt Wally
William: Bill Billy Will Willy Liam
Winifred: Winnie Freda
Zachary: Zach Zack Zak
Katarzyna: Kasia Kasha
Aleksandra: Ola Ala
Magdalena: Magda
Małgorzata: Gosia
Emmanuel: Manny
Oluwaseun: Seun
Oluwadamilola: Dami
Oluwatobi: Tobi
"""


@cache
def canonical_given_names() -> dict[str, str]:
    """Upper-case name -> canonical upper-case given name.

    A formal name (the first word of a line) is its own canonical form; a short form maps
    to the alphabetically first formal name that lists it (Alex -> ALEXANDER, Kate ->
    CATHERINE). Formal names are never merged with one another, so Emily and Emma stay
    apart even though both are "Em".
    """
    formal: set[str] = set()
    nick_of: dict[str, list[str]] = {}
    for line in NICKNAME_TABLE.strip().splitlines():
        full, _, rest = line.partition(":")
        name = plain_name(full)
        formal.add(name)
        for nick in rest.split():
            nick_of.setdefault(plain_name(nick), []).append(name)
    mapping = {name: name for name in formal}
    for nick, fulls in nick_of.items():
        if nick not in formal:
            mapping[nick] = min(fulls)
    return mapping


def plain_name(name: str) -> str:
    """Upper case, accents removed, letters A-Z only (``O'Brien`` -> ``OBRIEN``)."""
    name = name.translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in stripped.upper() if "A" <= c <= "Z")


_SPECIAL = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae"})
