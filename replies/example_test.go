package replies_test

import (
	"fmt"

	"github.com/beckonhealth/beckon/replies"
)

func ExampleInterpret() {
	reminder := replies.Open{Question: replies.Reminder}
	fmt.Println(replies.Interpret("Yes!! see you then", "en", reminder).Intent)
	fmt.Println(replies.Interpret("sí, ahí estaré", "es", reminder).Intent)
	fmt.Println(replies.Interpret("2", "en", reminder).Intent)
	fmt.Println(replies.Interpret("CANCEL", "en", reminder))
	fmt.Println(replies.Interpret("2", "en", replies.Open{Question: replies.Which, Choices: 2}))
	fmt.Println(replies.Interpret("can I bring my son? yes I'll come", "en", reminder).Intent)
	// Output:
	// confirm
	// confirm
	// cancel
	// {opt_out 0 CANCEL}
	// {choice 2 }
	// other
}
