using System.Globalization;

namespace Conversations.Bench;

/// <summary>
/// A seeded generator of long conversations in the manner of LongMemEval (Wu et al., 2024): filler turns about
/// everyday topics with facts planted among them, and questions asked at the end, phrased differently from the
/// statements, for five abilities: information extraction (one statement), multi-session reasoning (two statements far
/// apart), knowledge updates (a value stated, then changed), temporal reasoning (which of two things came first), and
/// abstention (a question about something never said). Each question names the evidence its answer needs.
/// </summary>
public static class MemoryScenario
{
    public const string Extraction = "information extraction";
    public const string MultiSession = "multi-session reasoning";
    public const string Updates = "knowledge updates";
    public const string Temporal = "temporal reasoning";
    public const string Abstention = "abstention";

    public static readonly string[] Abilities = [Extraction, MultiSession, Updates, Temporal, Abstention];

    /// <summary>One question: the values its answer needs (in the order said, for temporal ones), and for an update the value it replaced.</summary>
    public sealed record Question(string Ability, string Text, IReadOnlyList<string> Evidence, string? Replaced);

    /// <summary>
    /// A conversation: its turns (user, then assistant), how many statements were planted, the questions asked after them, and
    /// each evidence value's statement (by question and value).
    /// </summary>
    public sealed record Conversation(
        IReadOnlyList<(string User, string Assistant)> Turns, int Planted, IReadOnlyList<Question> Questions,
        IReadOnlyDictionary<(string Question, string Value), string> Statements);

    private static readonly string[] FirstNames =
    [
        "Margot", "Ilse", "Tobias", "Anouk", "Ruairi", "Signe", "Mateus", "Yusuf", "Esther", "Kaito", "Leontine", "Bram", "Oona", "Dragan", "Felipa",
        "Henrik", "Saoirse", "Lorcan", "Marit", "Pietro", "Zofia", "Ambrose", "Ines", "Cyprian", "Wilhelmina", "Teodor", "Nadia", "Osric", "Liesel", "Quentin",
    ];

    private static readonly string[] LastNames =
    [
        "Varga", "Lindqvist", "Okafor", "Brannigan", "Moreau", "Haverkamp", "Szabo", "Castellanos", "Ridgeway", "Oyelaran", "Tanaka", "Fairweather",
        "Kowalczyk", "Abernethy", "Delacroix", "Nakamura", "Pettersen", "Quarles", "Everard", "Montague",
    ];

    private static readonly string[] Cities =
    [
        "Tromsø", "Bergen", "Ljubljana", "Valladolid", "Groningen", "Aarhus", "Trieste", "Coimbra", "Bratislava", "Tartu", "Innsbruck", "Plovdiv",
        "Bordeaux", "Kraków", "Galway", "Uppsala", "Salzburg", "Bilbao",
    ];

    private static readonly string[] Words = ["heron", "quartz", "saffron", "tundra", "lantern", "marble", "juniper", "cobalt", "falcon", "meadow", "obsidian", "pepper"];
    private static readonly string[] Things = ["standing desk", "espresso machine", "road bike", "sofa bed", "telescope", "sewing machine", "rowing machine", "projector"];
    private static readonly string[] Jobs = ["carpenter", "radiologist", "ferry captain", "sound engineer", "beekeeper", "tax auditor", "glassblower", "paramedic"];
    private static readonly string[] Languages = ["Portuguese", "Finnish", "Japanese", "Welsh", "Hungarian", "Turkish", "Icelandic", "Greek"];
    private static readonly string[] Books = ["The Glass Orchard", "Salt and Iron", "A Winter Ledger", "The Cartographer's Wife", "Northern Lights Fading", "The Quiet Harbour", "Ember Road", "Paper Moons"];
    private static readonly string[] Cars = ["Volvo estate", "Skoda Octavia", "Renault Zoe", "Toyota Yaris", "Mazda roadster", "Fiat Panda", "Saab convertible", "Kia Niro"];
    private static readonly string[] Bands = ["The Velvet Orchard", "Copper Tides", "Midnight Ferns", "The Lantern Club", "Glass Animals", "Radio Dunes"];
    private static readonly string[] Companies = ["Brightwater Logistics", "Halcyon Biotech", "Northwind Foods", "Quillfeather Press", "Stonebridge Energy", "Tidewell Insurance"];
    private static readonly string[] Places = ["the salt mines", "the old lighthouse", "the glass museum", "the botanical garden", "the castle ruins", "the waterfall trail", "the harbour fort", "the observatory"];
    private static readonly string[] Plants = ["lavender", "blueberry bushes", "sunflowers", "rhubarb", "climbing roses", "garlic", "tulips", "fennel"];
    private static readonly string[] Rooms = ["kitchen", "hallway", "bathroom", "guest room", "attic", "study"];
    private static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
    private static readonly string[] Allergens = ["sesame", "shellfish", "hazelnuts", "celery", "mustard", "lupin"];

    private static readonly string[] Topics =
    [
        "the history of tea", "how tides work", "sourdough starters", "the rules of cricket", "solar panels", "jazz in the fifties",
        "how vaccines are tested", "composting at home", "the Roman road network", "chess openings", "bird migration", "volcanic soil",
        "the printing press", "container shipping", "glacier retreat", "origami", "the speed of sound", "honey bees", "desert plants", "lighthouses",
        "knitting patterns", "medieval castles", "coral reefs", "bread baking", "train signalling", "cloud types", "maple syrup", "paper making",
    ];

    private static readonly string[] Asks = ["Tell me one thing about {0}.", "What is interesting about {0}?", "Can you explain {0} briefly?", "I was reading about {0}, any tips?", "Give me a fun fact on {0}."];
    private static readonly string[] Replies = ["Here is one thing about {0}: it has a longer history than most people think.", "Sure. {0} is a good topic; the basics are simple and the details run deep.", "A short answer on {0}: start small and read one good book on it.", "People often get {0} wrong; the usual story leaves out the interesting part."];
    private const string Acknowledgement = "Thanks for telling me, I will keep that in mind.";

    /// <summary>A conversation of <paramref name="turns"/> turns from <paramref name="seed"/>; the same seed gives the same conversation.</summary>
    public static Conversation Generate(int seed, int turns)
    {
        var random = new Random(seed);
        var names = new Queue<string>(FirstNames.OrderBy(_ => random.Next()));
        var lasts = new Queue<string>(LastNames.OrderBy(_ => random.Next()));
        var cities = new Queue<string>(Cities.OrderBy(_ => random.Next()));
        string Pick(string[] pool) => pool[random.Next(pool.Length)];
        (string, string) Two(string[] pool)
        {
            var shuffled = pool.OrderBy(_ => random.Next()).ToArray();
            return (shuffled[0], shuffled[1]);
        }

        string Digits(int count) => string.Concat(Enumerable.Range(0, count).Select(i => (char)('0' + random.Next(i == 0 ? 1 : 0, 10))));
        string Code() => $"{(char)('A' + random.Next(26))}{(char)('A' + random.Next(26))}{Digits(5)}";
        string Next(Queue<string> pool) => pool.Dequeue();

        // Statements are (text, evidence value); questions follow. Multi-statement facts are planted at least a fifth of the conversation apart.
        var facts = new List<(string Ability, (string Text, string Value)[] Said, string Question, string? Replaced)>();
        void Fact(string ability, string question, string? replaced, params (string, string)[] said) => facts.Add((ability, said, question, replaced));

        var sister = Next(names);
        Fact(Extraction, "What is my sister called?", null, ($"My sister's name is {sister} and she teaches music.", sister));
        var wifi = Pick(Words) + Digits(3);
        Fact(Extraction, "How do I get online at the holiday house?", null, ($"The wifi password at the cabin is {wifi}.", wifi));
        var passport = Code();
        Fact(Extraction, "Which passport number should I put on the visa form?", null, ($"My passport number is {passport}.", passport));
        var dentist = Next(lasts);
        Fact(Extraction, "Who is the doctor I see for my teeth?", null, ($"My dentist is Dr. {dentist}, near the station.", dentist));
        var lockCode = Digits(4);
        Fact(Extraction, "What's the code to unlock my bicycle?", null, ($"My bike lock combination is {lockCode}.", lockCode));
        var allergen = Pick(Allergens);
        Fact(Extraction, "Is there any food I must stay away from?", null, ($"I'm allergic to {allergen}, so please remember that for recipes.", allergen));
        var badge = Code();
        Fact(Extraction, "What's the number on my work badge?", null, ($"My employee badge number is {badge}.", badge));
        var school = Next(lasts);
        Fact(Extraction, "Which school does my kid attend?", null, ($"My daughter goes to {school} Primary, just down the road.", school));
        var plumber = Next(names);
        Fact(Extraction, "Who should I call if a pipe bursts?", null, ($"The plumber I trust is called {plumber}; he fixed our boiler.", plumber));
        var level = Digits(2);
        Fact(Extraction, "On which level of the car park did I leave the car?", null, ($"I parked on level {level} of the station garage today.", level));
        var booking = Code();
        Fact(Extraction, "What is the reservation code for the plane trip?", null, ($"My flight booking reference is {booking}.", booking));
        var manager = Next(names);
        Fact(Extraction, "Who do I report to at work?", null, ($"My manager's name is {manager}, she runs the data team.", manager));
        var eggs = Digits(1) is var e && e == "0" ? "7" : e;
        Fact(Extraction, "How many eggs go into grandma's cake?", null, ($"Grandmother's cake recipe needs exactly {eggs} eggs, never more.", eggs + " eggs"));
        var plate = Code();
        Fact(Extraction, "What registration does my car have?", null, ($"My car's licence plate is {plate}.", plate));
        var cousinCity = Next(cities);
        Fact(Extraction, "In which city does my cousin live?", null, ($"My cousin moved to {cousinCity} last spring.", cousinCity));
        var unit = Digits(3);
        Fact(Extraction, "Which unit is mine at the storage place?", null, ($"The storage unit I rent is number {unit}.", unit));
        var vet = Next(lasts);
        Fact(Extraction, "Which vet looks after my animals?", null, ($"Our pets go to the {vet} veterinary clinic.", vet));
        var pin = Digits(6);
        Fact(Extraction, "What is the door code for the office?", null, ($"To get into the office building you type {pin} at the entrance.", pin));

        var (dog, cat) = (Next(names), Next(names));
        Fact(MultiSession, "What are the names of all my pets?", null, ($"I adopted a dog named {dog} from the shelter.", dog), ($"We also took in a cat called {cat} this week.", cat));
        var (thing1, thing2) = Two(Things);
        var (price1, price2) = (Digits(3), Digits(3));
        Fact(MultiSession, $"How much did the {thing1} and the {thing2} cost me together?", null, ($"I bought a {thing1} for {price1} euros.", price1), ($"The {thing2} I ordered cost {price2} euros.", price2));
        var (job1, job2) = Two(Jobs);
        Fact(MultiSession, "What do my brothers do for a living?", null, ($"My older brother works as a {job1}.", job1), ($"My younger brother is training to be a {job2}.", job2));
        var (lang1, lang2) = Two(Languages);
        Fact(MultiSession, "Which languages am I studying?", null, ($"I started evening classes in {lang1}.", lang1), ($"I also picked up {lang2} on an app.", lang2));
        var (drinks, dessert) = (Next(names), Next(names));
        Fact(MultiSession, "Who is bringing what to the party?", null, ($"For the party, {drinks} is bringing the drinks.", drinks), ($"{dessert} promised to bake a dessert for the party.", dessert));
        var (book1, book2) = Two(Books);
        Fact(MultiSession, "Which books have I finished this year?", null, ($"I finished reading {book1} in January.", book1), ($"Last month I got through {book2}.", book2));

        var (home1, home2) = (Next(cities), Next(cities));
        Fact(Updates, "Which city do I live in these days?", home1, ($"I live in {home1}, near the harbour.", home1), ($"We moved last week, we live in {home2} now.", home2));
        var (phone1, phone2) = ("+47 " + Digits(8), "+47 " + Digits(8));
        Fact(Updates, "What number can people reach me on?", phone1, ($"My phone number is {phone1}.", phone1), ($"My phone number is now {phone2}, the old one is gone.", phone2));
        var (locker1, locker2) = (Digits(3), Digits(3));
        Fact(Updates, "Which locker do I use at the gym?", locker1, ($"My gym locker is number {locker1}.", locker1), ($"I switched lockers, my gym locker is now number {locker2}.", locker2));
        var (boss1, boss2) = (Next(names), Next(names));
        Fact(Updates, "Who is my boss at the moment?", boss1, ($"My boss is {boss1}, who is quite strict.", boss1), ($"{boss2} replaced my old boss this month.", boss2));
        var (car1, car2) = Two(Cars);
        Fact(Updates, "What car do I drive right now?", car1, ($"I drive a {car1} to work every day.", car1), ($"I sold the old car and now drive a {car2}.", car2));
        var (band1, band2) = Two(Bands);
        Fact(Updates, "Which band do I like best currently?", band1, ($"My favourite band is {band1}.", band1), ($"My favourite band is now {band2}, I have changed my mind.", band2));
        var (day1, day2) = Two(Days);
        Fact(Updates, "When does the team meet each week?", day1, ($"The team meeting is on {day1} mornings.", day1 + " mornings"), ($"The team meeting moved to {day2} mornings from now on.", day2 + " mornings"));
        var (company1, company2) = Two(Companies);
        Fact(Updates, "Where am I employed?", company1, ($"I work at {company1} as an analyst.", company1), ($"I left my job and joined {company2} as a team lead.", company2));
        var (hint1, hint2) = (Pick(Words) + "-" + Digits(2), Pick(Words) + "-" + Digits(2));
        Fact(Updates, "What's my current password hint?", hint1, ($"My password hint is {hint1}.", hint1), ($"I changed my password hint to {hint2}.", hint2));
        var (age1, age2) = (random.Next(5, 9), 0);
        age2 = age1 + 1;
        Fact(Updates, "How old is my son?", $"{age1} years", ($"My son is {age1} years old and loves dinosaurs.", $"{age1} years"), ($"My son just turned {age2} years old yesterday.", $"{age2} years"));

        var (place1, place2) = Two(Places);
        Fact(Temporal, $"Which did I visit first, {place1} or {place2}?", null, ($"I spent Saturday visiting {place1}.", place1), ($"Yesterday I went to see {place2}.", place2));
        var (room1, room2) = Two(Rooms);
        Fact(Temporal, $"Did I repaint the {room1} or the {room2} first?", null, ($"I repainted the {room1} a pale green.", room1), ($"I finished repainting the {room2} in white.", room2));
        var (lunch1, lunch2) = (Next(names), Next(names));
        Fact(Temporal, $"Who did I eat with more recently, {lunch1} or {lunch2}?", null, ($"I had dinner with {lunch1} at the Thai place.", lunch1), ($"I had lunch with {lunch2} by the river.", lunch2));
        var (plant1, plant2) = Two(Plants);
        Fact(Temporal, $"What went into the garden first, the {plant1} or the {plant2}?", null, ($"I planted {plant1} along the path.", plant1), ($"Today I put {plant2} in by the fence.", plant2));
        var (trip1, trip2) = (Next(cities), Next(cities));
        Fact(Temporal, $"Was my work trip to {trip1} before or after the one to {trip2}?", null, ($"I am back from a work trip to {trip1}.", trip1), ($"My work trip to {trip2} went well.", trip2));

        string[] unanswerable =
        [
            "What is my brother-in-law's name?", "What is the wifi password at my office?", "What is my shoe size?", "Where did I go to university?",
            "What is my grandmother's maiden name?", "Which hotel did I book for the conference?", "What's my neighbour's dog called?", "What is my bank's sort code?",
        ];

        // Place the statements: each fact's statements in order, a fifth of the conversation apart; all before the last tenth.
        var statements = new SortedDictionary<int, string>();
        var questions = new List<Question>();
        var evidence = new Dictionary<(string, string), string>();
        var last = turns * 9 / 10;
        foreach (var (ability, said, question, replaced) in facts)
        {
            var turn = random.Next(0, said.Length == 1 ? last : last - (turns * 3 / 10));
            foreach (var (text, _) in said)
            {
                while (statements.ContainsKey(turn))
                {
                    turn++;
                }

                statements[turn] = text;
                evidence[(question, said.First(s => s.Text == text).Value)] = text;
                turn += (turns / 5) + random.Next(turns / 10);
            }

            questions.Add(new Question(ability, question, [.. said.Select(s => s.Value)], replaced));
        }

        questions.AddRange(unanswerable.Select(q => new Question(Abstention, q, [], null)));
        var list = new List<(string, string)>(turns);
        for (var turn = 0; turn < turns; turn++)
        {
            var topic = Topics[random.Next(Topics.Length)];
            list.Add(statements.TryGetValue(turn, out var statement)
                ? (statement, Acknowledgement)
                : (string.Format(CultureInfo.InvariantCulture, Pick(Asks), topic), string.Format(CultureInfo.InvariantCulture, Pick(Replies), topic)));
        }

        return new Conversation(list, statements.Count, [.. questions.OrderBy(_ => random.Next())], evidence);
    }
}
