module pinecone.local/capi

go 1.19
