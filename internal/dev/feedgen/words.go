package feedgen

// The word lists records are drawn from. Changing any of them changes the
// output for every seed, so tests must not pin bytes of it beyond one run.
// Some entries carry characters that need quoting or escaping in one format
// or another (a comma, a double quote, an ampersand, non-ASCII letters), so
// that every feed exercises its writer's and its reader's escaping.

// category is a leaf of the two-level category tree.
type category struct {
	id, parent int    // YML category ids; parent is the id of a topCategory
	path       string // "Electronics > Phones", as the category field holds it
	top, leaf  string
	noun       string   // generic lower-case noun for descriptions
	nouns      []string // product kinds used in names
}

// topCategory is a root of the category tree.
type topCategory struct {
	id   int
	name string
}

var topCategories = [...]topCategory{
	{1, "Electronics"},
	{2, "Home & Kitchen"},
	{3, "Sports"},
	{4, "Fashion"},
	{5, "Toys"},
}

var categories = [...]category{
	{101, 1, "Electronics > Phones", "Electronics", "Phones", "phone", []string{"Smartphone", "Phone", "Rugged Phone"}},
	{102, 1, "Electronics > Laptops", "Electronics", "Laptops", "laptop", []string{`Laptop 14"`, `Laptop 15.6"`, "Ultrabook"}},
	{103, 1, "Electronics > Headphones", "Electronics", "Headphones", "headset", []string{"Headphones", "Earbuds", "Headset"}},
	{104, 1, "Electronics > Cameras", "Electronics", "Cameras", "camera", []string{"Camera", "Action Cam", "Dashcam"}},
	{201, 2, "Home & Kitchen > Cookware", "Home & Kitchen", "Cookware", "pan", []string{"Frying Pan, 28 cm", "Saucepan", "Wok"}},
	{202, 2, "Home & Kitchen > Coffee", "Home & Kitchen", "Coffee", "coffee maker", []string{"Espresso Machine", "Grinder", "French Press"}},
	{203, 2, "Home & Kitchen > Lighting", "Home & Kitchen", "Lighting", "lamp", []string{"Desk Lamp", "Floor Lamp", "LED Strip"}},
	{301, 3, "Sports > Cycling", "Sports", "Cycling", "bike part", []string{"Bike Helmet", "Bike Light", "Saddle"}},
	{302, 3, "Sports > Running", "Sports", "Running", "running gear", []string{"Running Shoes", "Running Vest", "Sports Watch"}},
	{303, 3, "Sports > Outdoor", "Sports", "Outdoor", "outdoor gear", []string{"Tent, 2-person", "Sleeping Bag", "Backpack 30 L"}},
	{401, 4, "Fashion > Shoes", "Fashion", "Shoes", "shoe", []string{"Sneakers", "Boots", "Loafers"}},
	{402, 4, "Fashion > Jackets", "Fashion", "Jackets", "jacket", []string{"Rain Jacket", "Down Jacket", "Softshell"}},
	{501, 5, "Toys > Building Sets", "Toys", "Building Sets", "building set", []string{"Brick Set", "Marble Run", "Robot Kit"}},
	{502, 5, "Toys > Board Games", "Toys", "Board Games", "board game", []string{"Board Game", "Puzzle, 1000 pcs", "Card Game"}},
}

var brands = [...]string{
	"Acme", "Nordlys", "Zenith Labs", "Hansen & Co", "Müller", "Orbita",
	"Kestrel", "Bluefin", "Čapek", "Polaris", "Vantaa", "Lumo", "Ironbark",
	"Sable", "Tern", "O'Neill Bros",
}

var adjectives = [...]string{
	"Compact", "Pro", "Classic", "Ultra", "Lite", "Max", "Eco", "Smart",
	"Travel", "Essential", "Premium", "Mini",
}

var features = [...]string{
	"Two-year warranty.",
	"Free shipping & returns.",
	`Rated "excellent" by testers.`,
	"Made from recycled materials.",
	"Ships within 24 hours.",
	"Includes a carry case, charger and manual.",
	"Water-resistant; easy to clean.",
	"Über-quiet operation.",
}

// priceTier is a range of whole currency units, lo inclusive, hi exclusive.
type priceTier struct{ lo, hi int }

var priceTiers = [...]priceTier{{1, 20}, {20, 100}, {100, 500}, {500, 2500}}

// priceEndings are the cents of a price: retail prices cluster on a few.
var priceEndings = [...]int{99, 99, 95, 49, 50, 0}

var currencies = [...]string{"EUR", "USD", "GBP"}

var colors = [...]string{"black", "white", "red", "blue", "green", "grey", "silver"}

var sizes = [...]string{"XS", "S", "M", "L", "XL", "one size"}
