package portfolio

import (
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// amountPattern is the API's pattern of Money.amount.
var amountPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$`)

// cents parses a Money amount ("24000.00", "12.5", "7") into whole cents,
// exactly: the amount is a decimal string and never passes through a
// float.
func cents(amount string) (*big.Int, error) {
	if !amountPattern.MatchString(amount) {
		return nil, fmt.Errorf("amount %q is not a non-negative decimal number with at most two decimals", amount)
	}
	whole, frac, _ := strings.Cut(amount, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return nil, fmt.Errorf("amount %q is not a number", amount)
	}
	return n, nil
}

// formatCents writes whole cents as a decimal amount with two decimals.
func formatCents(c *big.Int) string {
	neg := c.Sign() < 0
	s := new(big.Int).Abs(c).String()
	for len(s) < 3 {
		s = "0" + s
	}
	out := s[:len(s)-2] + "." + s[len(s)-2:]
	if neg {
		out = "-" + out
	}
	return out
}

// Amount is an exact sum of money in one currency.
type Amount struct {
	Currency string `json:"currency"`
	// Amount has two decimals, for example "24000.00".
	Amount string `json:"amount"`
}

// Sums adds amounts per currency, exactly (whole cents in big integers).
type Sums struct{ by map[string]*big.Int }

// Add adds c cents in currency.
func (s *Sums) Add(currency string, c *big.Int) {
	if s.by == nil {
		s.by = map[string]*big.Int{}
	}
	if s.by[currency] == nil {
		s.by[currency] = new(big.Int)
	}
	s.by[currency].Add(s.by[currency], c)
}

// Amounts returns the sums by currency code.
func (s *Sums) Amounts() []Amount {
	out := make([]Amount, 0, len(s.by))
	for _, cur := range slices.Sorted(maps.Keys(s.by)) {
		out = append(out, Amount{Currency: cur, Amount: formatCents(s.by[cur])})
	}
	return out
}

// split divides c cents into n shares that add up to c exactly: each
// share is c/n, and the first c mod n shares one cent more.
func split(c *big.Int, n int) []*big.Int {
	if n <= 0 {
		return nil
	}
	q, r := new(big.Int).QuoRem(c, big.NewInt(int64(n)), new(big.Int))
	extra := int(r.Int64())
	out := make([]*big.Int, n)
	for i := range out {
		out[i] = new(big.Int).Set(q)
		if i < extra {
			out[i].Add(out[i], big.NewInt(1))
		}
	}
	return out
}

// String is "EUR 24000.00".
func (a Amount) String() string { return a.Currency + " " + a.Amount }

// joinAmounts is "EUR 1.00 + USD 2.00", or "-" for none.
func joinAmounts(as []Amount) string {
	if len(as) == 0 {
		return "-"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, " + ")
}
