// placeholder: being written
export {}
