module pinecone

go 1.19
