"""word2vec experiment."""
