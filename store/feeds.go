package store

// FeedQuerier holds the queries of EHR feeds (inbound archive, event
// ordering, confirmations, write-back).
type FeedQuerier interface{}
